"""Dropping a song anywhere on the window: accept local files, outline the window meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QMainWindow


def local_files(mime) -> list[str]:
    if not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]


class FileDropTarget(QObject):
    """Event filter for a QMainWindow: files dropped on it go to ``open_file``."""

    def __init__(self, window: QMainWindow, open_file: Callable[[str], None]) -> None:
        super().__init__(window)
        self.window = window
        self.open_file = open_file
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind in (QEvent.DragEnter, QEvent.DragMove):
            files = local_files(event.mimeData())
            if not files:
                event.ignore()
                return True
            event.acceptProposedAction()
            if kind == QEvent.DragEnter:
                self._outline(True)
                self.window.statusBar().showMessage(f"Drop to open {Path(files[0]).name}")
            return True
        if kind == QEvent.DragLeave:
            self._outline(False)
            self.window.statusBar().clearMessage()
            return False
        if kind == QEvent.Drop:
            self._outline(False)
            files = local_files(event.mimeData())
            if files:
                event.acceptProposedAction()
                # After the drop has returned: opening may ask a question (a run is
                # going), and a modal box inside the drop would hold the drag source.
                QTimer.singleShot(0, self, lambda f=files[0]: self.open_file(f))
            return True
        return False

    def _outline(self, on: bool) -> None:
        """The theme draws a dashed accent border while ``dropping`` is set."""
        central = self.window.centralWidget()
        central.setProperty("dropping", on)
        central.style().unpolish(central)
        central.style().polish(central)
