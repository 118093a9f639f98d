"""Start the GUI: ``stemsplit`` (no arguments) or ``stemsplit song.mp3``."""

from __future__ import annotations

import logging
import os
import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

import stemsplit

log = logging.getLogger(__name__)


def create_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication with our name, icon and dark theme (reused if one exists)."""
    import pyqtgraph as pg

    from stemsplit.gui.common.icon import app_icon
    from stemsplit.gui.common.theme import apply_dark_theme

    app = QApplication.instance()
    if app is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("stemsplit")
    app.setApplicationDisplayName("stemsplit")
    app.setOrganizationName("stemsplit")
    app.setApplicationVersion(stemsplit.__version__)
    app.setDesktopFileName("stemsplit")
    app.setWindowIcon(app_icon())
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
    apply_dark_theme(app)
    return app


def run(paths: list[str]) -> int:
    """Open the main window (with the first path loaded, if any) and run the event loop.

    Returns:
        The application's exit code.
    """
    from stemsplit.logfile import setup as log_to_file

    log_to_file()  # once per process (the CLI's main has usually done it)
    app = create_app()
    from stemsplit.gui.binding_check import binding_problem

    problem = binding_problem()
    if problem:
        log.error("%s", problem)
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(None, "stemsplit cannot start", problem)
        return 1
    from stemsplit.gui.main_window import MainWindow

    window = MainWindow()
    app.aboutToQuit.connect(window.session.shutdown)
    install_excepthook(window)
    from stemsplit.gui import quit_signals

    quit_signals.install(app)  # SIGTERM/SIGHUP/Ctrl+C close the window cleanly
    window.show()

    def start() -> None:
        # After a crash, the snapshot is offered before anything else is opened.
        if not window.recovery.offer() and paths:
            window.open_path(paths[0])
    QTimer.singleShot(0, start)
    code = app.exec()
    still = [t for t in window.still_running if t.isRunning()]
    if still:
        # A thread stuck in a system call (a server that never answers): Python's exit
        # would destroy its QThread while it runs, which aborts the process. Its work was
        # cancelled and everything else is closed and saved: leave at once instead.
        log.warning("%d background thread(s) did not stop in time; exiting anyway", len(still))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def install_excepthook(window) -> None:
    """Show an unexpected error in the window instead of losing it (or the song).

    PySide6 already keeps running after an exception in a slot; this makes the
    failure visible to the user and keeps the traceback in the log.
    """
    previous = sys.excepthook

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        log.error("unexpected error", exc_info=(exc_type, exc, tb))
        from stemsplit.logfile import where

        try:
            window.banner.show_message(f"Something went wrong: {exc}. The song is still "
                                       f"loaded; details are in {where()}.")
        except Exception:  # the window itself is gone
            previous(exc_type, exc, tb)

    sys.excepthook = hook


def main() -> int:
    return run(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
