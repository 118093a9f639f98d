"""SIGTERM, SIGHUP and Ctrl+C close the window the way its close button does.

Without this, SIGTERM (logout, ``kill``, a service manager) kills the process
on the spot: a running export leaves its hidden ``.partial`` files behind and
settings are not saved. Qt's event loop runs no Python code while it waits, so
a Python signal handler alone would run only at the next mouse move; the C
handler's wake-up byte (``signal.set_wakeup_fd``) on a socket that Qt watches
makes the loop hand control to Python at once.

On a signal the main window is closed as if its close button were pressed:
its crash-recovery snapshot is brought up to date first, then it asks about
unsaved work. If the user answers Cancel, the window stays open and the app
keeps running (the work is safe in the snapshot should the session end anyway).
Otherwise every other window closes too (an export dialog cancels its export and
waits for the files to be removed; the main window stops its workers) and the
event loop ends with 128 + the signal's number.
"""

from __future__ import annotations

import contextlib
import signal
import socket

from PySide6.QtCore import QObject, QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow


def _signals() -> list[signal.Signals]:
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    return [getattr(signal, n) for n in names if hasattr(signal, n)]


class QuitOnSignals(QObject):
    """Installed by :func:`install`; keeps the socket pair and notifier alive."""

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.app = app
        self.signum: int | None = None
        self._read, self._write = socket.socketpair()
        for sock in (self._read, self._write):
            sock.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._write.fileno())
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)
        for sig in _signals():
            if signal.getsignal(sig) is not signal.SIG_IGN:  # nohup keeps SIGHUP ignored
                signal.signal(sig, self._on_signal)
        app.aboutToQuit.connect(self._uninstall)

    def _drain(self, *_args) -> None:
        # Reading the byte is all: returning to Python already ran _on_signal.
        with contextlib.suppress(OSError):
            self._read.recv(64)

    def _on_signal(self, signum: int, frame) -> None:
        if self.signum is not None:  # asked again while closing: Qt gets there
            return
        self.signum = signum
        QTimer.singleShot(0, self._close)  # not inside whatever Python code was interrupted

    def _close(self) -> None:
        signum = int(self.signum or signal.SIGTERM)
        for window in QApplication.topLevelWidgets():
            if isinstance(window, QMainWindow) and window.isVisible() and not window.close():
                self.signum = None  # the user chose to stay: a later signal asks again
                return
        QApplication.closeAllWindows()
        self.app.exit(128 + signum)

    def _uninstall(self) -> None:
        if self in _installed:
            _installed.remove(self)
        with contextlib.suppress(ValueError, OSError):
            signal.set_wakeup_fd(self._previous_fd)
        for sig in _signals():
            with contextlib.suppress(ValueError, OSError):
                if signal.getsignal(sig) == self._on_signal:
                    signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT
                                  else signal.default_int_handler)


_installed: list[QuitOnSignals] = []  # the Python side must outlive the event loop


def install(app: QApplication) -> QuitOnSignals:
    """Make SIGINT, SIGTERM and SIGHUP close the windows and end ``app``'s event loop."""
    handler = QuitOnSignals(app)
    _installed.append(handler)
    return handler
