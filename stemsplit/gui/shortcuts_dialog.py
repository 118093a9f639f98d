"""Help > Keyboard Shortcuts: every shortcut of the window, grouped by where it acts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

# Keys of the playback widgets (QShortcut, not menu actions) and the mouse gestures.
PLAYBACK_KEYS = [("Space", "Play / pause"), ("Home", "Jump to the start"),
                 ("L", "Loop on / off"), ("S", "Solo the selected stem"),
                 ("M", "Mute the selected stem"), ("[ / ]", "Select the previous / next stem")]
MOUSE = [("Drag on the time ruler", "Draw a loop region (Shift+drag on the "
          "spectrogram does the same; Shift+click clears it)"),
         ("Click", "Move the playhead there"),
         ("Wheel / drag / double-click", "Zoom / pan / fit the song"),
         ("Ctrl+wheel", "Zoom the frequency axis")]


def _keys(action) -> str:
    return ", ".join(s.toString(QKeySequence.NativeText) for s in action.shortcuts())


def grouped_rows(menu_bar, actions, with_playback: bool) -> list[tuple[str, list]]:
    """(area, [(keys, what), ...]) per menu of ``menu_bar``, then playback and mouse.

    Actions with a shortcut that sit in no menu (Leave Tool) join the Edit group.
    """
    groups: dict[str, list[tuple[str, str]]] = {}
    seen = set()

    def walk(menu, area: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), area)
            elif _keys(action) and id(action) not in seen:
                seen.add(id(action))
                groups.setdefault(area, []).append(
                    (_keys(action), action.text().replace("&", "").rstrip("…")))

    for top in menu_bar.actions():
        if top.menu() is not None:
            walk(top.menu(), top.text().replace("&", ""))
    for action in actions:
        if _keys(action) and id(action) not in seen:
            seen.add(id(action))
            groups.setdefault("Edit", []).append(
                (_keys(action), action.text().replace("&", "").rstrip("…")))
    out = [(area, rows) for area, rows in groups.items() if rows]
    if with_playback:
        out = [(a, r + PLAYBACK_KEYS) if a == "Playback" else (a, r) for a, r in out]
        if not any(a == "Playback" for a, _ in out):
            out.append(("Playback", PLAYBACK_KEYS))
    return out + [("Mouse", MOUSE)]


def shortcut_rows(actions, with_playback: bool) -> list[tuple[str, str]]:
    """(keys, what) for every action with a shortcut, then the playback keys (flat)."""
    rows = [(_keys(a), a.text().replace("&", "").rstrip("…")) for a in actions if _keys(a)]
    return rows + (PLAYBACK_KEYS if with_playback else []) + MOUSE


class ShortcutsDialog(QDialog):
    """A read-only table: a heading row per area, then its keys and what they do.

    Args:
        groups: ``grouped_rows(...)``, or a flat list of (keys, what) rows.
    """

    def __init__(self, groups, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        if groups and isinstance(groups[0][1], str):  # a flat list: one group
            groups = [("Shortcuts", list(groups))]
        layout = QVBoxLayout(self)
        n = sum(len(rows) + 1 for _, rows in groups)
        self.table = table = QTableWidget(n, 2)
        table.setHorizontalHeaderLabels(["Keys", "Action"])
        table.horizontalHeader().hide()
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.NoSelection)  # nothing pre-selected
        table.setFocusPolicy(Qt.NoFocus)
        table.setShowGrid(False)
        table.setWordWrap(True)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        bold = QFont(table.font())
        bold.setBold(True)
        i = 0
        for area, rows in groups:
            heading = QTableWidgetItem(area)
            heading.setFont(bold)
            table.setItem(i, 0, heading)
            table.setItem(i, 1, QTableWidgetItem(""))
            table.setSpan(i, 0, 1, 2)
            i += 1
            for keys, text in rows:
                table.setItem(i, 0, QTableWidgetItem(keys))
                table.setItem(i, 1, QTableWidgetItem(text))
                i += 1
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        table.setCurrentCell(-1, -1)
        layout.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        # Tall enough for every row (up to most of the screen), wide enough for no
        # sideways scrolling: the keys column fits its text, the rest wraps.
        self.resize(620, 480)
        table.resizeRowsToContents()
        rows_height = sum(table.rowHeight(r) for r in range(n)) + 4
        screen = self.screen().availableGeometry().height() if self.screen() else 900
        self.resize(620, min(rows_height + buttons.sizeHint().height() + 40,
                             int(screen * 0.85)))
