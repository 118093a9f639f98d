"""Dragging a stem out by its whole row, name included, with a drag image (issue 20.5)."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from tests.gui.test_mask_editing import separate


def test_the_name_starts_the_drag_and_the_check_box_keeps_its_click(
        qtbot, null_sink, window, short_clip):
    separate(qtbot, window, short_clip)
    row = window.stem_list.rows["vocals"]
    check, label = row.check, row.label
    assert label.text() == "Vocals"
    dragged: list[str] = []
    window.stem_list.stemDragged.connect(dragged.append)

    # Press on the name and move: a drag of the stem's file, with a picture of the row.
    at = label.geometry().center()
    qtbot.mousePress(row, Qt.LeftButton, pos=at)
    qtbot.mouseMove(row, at + QPoint(QApplication.startDragDistance() + 8, 3))
    qtbot.mouseRelease(row, Qt.LeftButton, pos=at + QPoint(20, 3))
    assert dragged == ["vocals"]
    drag = window.last_drag
    assert drag is not None and not drag.pixmap().isNull()
    assert drag.pixmap().width() >= row.width() * 0.9
    (url,) = drag.mimeData().urls()
    path = Path(url.toLocalFile())
    assert path.name == "short clip - vocals.wav"
    assert sf.info(path).frames == window.session.audio.frames
    assert check.isChecked()  # dragging did not toggle the overlay

    # A click on the name toggles the overlay, as a check box's label does ...
    qtbot.mouseClick(row, Qt.LeftButton, pos=at)
    assert not check.isChecked() and not window.view.overlay_on["vocals"]
    # ... and the box keeps its own click.
    qtbot.mouseClick(check, Qt.LeftButton)
    assert check.isChecked() and window.view.overlay_on["vocals"]
    assert dragged == ["vocals"]  # clicks are not drags
