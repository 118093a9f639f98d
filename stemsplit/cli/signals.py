"""SIGTERM and SIGHUP stop a command the way Ctrl+C does.

Python turns SIGINT into ``KeyboardInterrupt``, which unwinds through every
``finally`` and ``except BaseException`` on the way out: temporary ``.partial``
files, float spools and ``.install-*`` folders are removed and a half-done
commit is rolled back. SIGTERM (``kill``, a service manager, a container
stopping) and SIGHUP (the terminal closing) would otherwise end the process on
the spot and leave those behind. :func:`terminate_as_interrupt` makes them raise
:class:`Terminated`, a ``KeyboardInterrupt``, so they take the same path; the
command then exits with 128 + the signal's number, as a shell reports it.

A second SIGTERM or SIGHUP while the first is being handled ends the process at
once (the next run sweeps what it left; see ``stemsplit.core.audio.partials``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130


def _signals() -> list[signal.Signals]:
    return [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
            if s is not None]


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by ``signum`` (SIGTERM or SIGHUP)."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        super().__init__(signal.Signals(self.signum).name)


def exit_code(exc: BaseException) -> int:
    """128 + the signal's number: 130 for Ctrl+C, 143 for SIGTERM, 129 for SIGHUP."""
    return 128 + exc.signum if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def describe(exc: BaseException) -> str:
    """``interrupted`` or ``terminated (SIGTERM)``, for messages."""
    if isinstance(exc, Terminated):
        return f"terminated ({signal.Signals(exc.signum).name})"
    return "interrupted"


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread.

    Does nothing outside the main thread (only it may set handlers). The
    previous handlers come back when the block ends. A signal that is
    ignored (SIGHUP under ``nohup``) stays ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = False

    def handler(signum: int, frame) -> None:
        nonlocal stopping
        if stopping:  # asked twice: stop now, without cleaning up
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        stopping = True
        raise Terminated(signum)

    previous = {}
    for sig in _signals():
        if signal.getsignal(sig) is signal.SIG_IGN:
            continue  # e.g. SIGHUP under nohup: the user asked to keep running
        try:
            previous[sig] = signal.signal(sig, handler)
        except (OSError, ValueError):  # not settable on this platform
            pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
