"""What an export wrote: the folder, the files, and a way to open the folder."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget


def summary(paths: Sequence[Path]) -> str:
    """One line for a status bar: how many files went where."""
    folders = {p.parent for p in paths}
    where = f" to {paths[0].parent}" if len(folders) == 1 else ""
    return f"Exported {len(paths)} file{'s' if len(paths) != 1 else ''}{where}."


class ExportResultDialog(QDialog):
    """Lists the written files and offers "Show in Folder".

    Args:
        paths: the files written (all in one folder, as the export dialog writes them).
        note: an extra line, e.g. that peaks were clipped; empty for none.
        opener: opens a URL (``QDesktopServices.openUrl``); tests pass their own.
    """

    def __init__(self, paths: Sequence[Path], note: str = "", parent: QWidget | None = None,
                 opener: Callable[[QUrl], object] = QDesktopServices.openUrl) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export finished")
        self.setMinimumWidth(440)
        self.paths = [Path(p) for p in paths]
        self.folder = self.paths[0].parent
        self.opener = opener
        n = len(self.paths)
        self.heading = QLabel(f"<b>Exported {n} file{'s' if n != 1 else ''}</b> to "
                              f"{html.escape(str(self.folder))}")
        self.files = QLabel("\n".join(p.name for p in self.paths))
        self.note = QLabel(note)
        self.note.setVisible(bool(note))
        for label in (self.heading, self.files, self.note):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.files.setObjectName("muted")
        self.buttons = QDialogButtonBox()
        self.show_button = self.buttons.addButton("Show in Folder", QDialogButtonBox.ActionRole)
        self.show_button.setToolTip(str(self.folder))
        self.show_button.clicked.connect(self.show_in_folder)
        close = self.buttons.addButton(QDialogButtonBox.Close)
        close.setDefault(True)
        close.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        for widget in (self.heading, self.files, self.note, self.buttons):
            layout.addWidget(widget)

    def folder_url(self) -> QUrl:
        return QUrl.fromLocalFile(str(self.folder))

    def show_in_folder(self) -> None:
        """Open the folder in the system's file manager, then close."""
        self.opener(self.folder_url())
        self.accept()
