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


def choose_drop(files: list[str]) -> tuple[str | None, str]:
    """The file to open of those dropped, and a sentence about the rest ("" if none).

    The window holds one song: the first file opens; folders and further files are
    named, with where to split many at once.
    """
    paths = [Path(f) for f in files]
    songs = [p for p in paths if not p.is_dir()]
    folders = [p for p in paths if p.is_dir()]
    first = songs[0] if songs else None
    rest = songs[1:]
    parts = []
    if rest:
        parts.append(f"{len(rest)} more file{'s' if len(rest) > 1 else ''} "
                     f"({', '.join(p.name for p in rest[:3])}{', …' if len(rest) > 3 else ''})")
    if folders:
        parts.append(f"{'the folder' if len(folders) == 1 else f'{len(folders)} folders'} "
                     f"{', '.join(p.name for p in folders[:3])}")
    if not parts:
        return (str(first) if first else None), ""
    what = " and ".join(parts)
    if first is None:
        return None, (f"The window opens one song at a time, not {what}. Drop a song, or "
                      "split a whole folder with the command line: stemsplit separate FOLDER.")
    return str(first), (f"Opened {first.name} only: the window holds one song at a time, so "
                        f"{what} {'were' if len(rest) + len(folders) > 1 else 'was'} left "
                        "alone. To split many songs at once, use the command line: "
                        "stemsplit separate FILES.")


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
                QTimer.singleShot(0, self, lambda f=files: self._open(f))
            return True
        return False

    def _open(self, files: list[str]) -> None:
        song, note = choose_drop(files)
        if song is not None:
            self.open_file(song)
        banner = getattr(self.window, "banner", None)
        if note and banner is not None:
            banner.show_message(note, "info")

    def _outline(self, on: bool) -> None:
        """The theme draws a dashed accent border while ``dropping`` is set."""
        central = self.window.centralWidget()
        central.setProperty("dropping", on)
        central.style().unpolish(central)
        central.style().polish(central)
