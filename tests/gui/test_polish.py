"""Small things a musician notices (issue 20.11): the shortcuts list, zoom key, close
crosses on the dark theme."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QStyle


def test_shortcuts_are_grouped_fit_sideways_and_nothing_is_selected(qtbot, window):
    from stemsplit.gui.shortcuts_dialog import ShortcutsDialog

    window.actions["shortcuts"].trigger()
    dialog = window.findChildren(ShortcutsDialog)[-1]
    qtbot.waitUntil(dialog.isVisible, timeout=5_000)
    table = dialog.table
    headings = [table.item(i, 0).text() for i in range(table.rowCount())
                if table.columnSpan(i, 0) == 2]
    assert headings[:4] == ["File", "Edit", "Separate", "View"]
    assert "Playback" in headings and headings[-1] == "Mouse"
    rows = {table.item(i, 1).text(): table.item(i, 0).text() for i in range(table.rowCount())}
    assert rows["Zoom In"].startswith("Ctrl++")
    assert table.horizontalScrollBar().maximum() == 0      # no sideways scrolling
    assert not table.selectedItems() and table.currentRow() == -1
    assert dialog.height() > 400
    dialog.close()


def test_zoom_in_reads_ctrl_plus(window):
    first = window.actions["zoom_in"].shortcuts()[0]
    assert first.toString(QKeySequence.PortableText) == "Ctrl++"


def test_close_crosses_are_light_on_the_dark_theme(app):
    from stemsplit.gui.common import theme

    style = QApplication.style()
    assert not style.styleHint(QStyle.SH_DialogButtonBox_ButtonsHaveIcons)
    image = style.standardIcon(QStyle.SP_DialogCloseButton).pixmap(16, 16).toImage()
    drawn = [image.pixelColor(x, y) for x in range(16) for y in range(16)
             if image.pixelColor(x, y).alpha() > 128]
    assert drawn and min(c.lightness() for c in drawn) > 150
    assert max(c.lightness() for c in drawn) <= 255 and theme.TEXT
