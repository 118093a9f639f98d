"""Help > Keyboard Shortcuts: every shortcut of the window in one list."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout

# Keys of the playback widgets (QShortcut, not menu actions) and the mouse gestures.
PLAYBACK_KEYS = [("Space", "Play / pause"), ("Home", "Jump to the start"),
                 ("L", "Loop on / off"), ("S", "Solo the selected stem"),
                 ("M", "Mute the selected stem"), ("[ / ]", "Select the previous / next stem"),
                 ("Drag on the time ruler", "Draw a loop region (Shift+drag on the "
                  "spectrogram does the same; Shift+click clears it)"),
                 ("Click", "Move the playhead there"),
                 ("Wheel / drag / double-click", "Zoom / pan / fit the song")]


def shortcut_rows(actions, with_playback: bool) -> list[tuple[str, str]]:
    """(keys, what) for every menu action with a shortcut, then the playback keys."""
    rows = []
    for action in actions:
        keys = ", ".join(s.toString(QKeySequence.NativeText) for s in action.shortcuts())
        if keys:
            rows.append((keys, action.text().replace("&", "").rstrip("…")))
    return rows + (PLAYBACK_KEYS if with_playback else [])


class ShortcutsDialog(QDialog):
    def __init__(self, rows: list[tuple[str, str]], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Keys", "Action"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setShowGrid(False)
        for i, (keys, text) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(keys))
            self.table.setItem(i, 1, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumSize(420, 360)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
