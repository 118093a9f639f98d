"""An edit tool paints inside the loop region too: the drag is a stroke, not a loop move."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.test_mask_editing import drag, key, ready, separate, vpos


def test_a_brush_stroke_inside_the_loop_paints_and_leaves_the_loop(qtbot, window, short_clip):
    separate(qtbot, window, short_clip)
    ready(qtbot, window)
    view = window.view
    view.set_loop((1.0, 3.0))
    key(qtbot, window, Qt.Key_B)
    strokes = []
    window.edits.strokeFinished.connect(strokes.append)
    drag(qtbot, view, [vpos(view, 1.5, 1000.0), vpos(view, 2.0, 1000.0),
                       vpos(view, 2.5, 1000.0)])
    assert view.loop_span() == (1.0, 3.0)
    assert len(strokes) == 1 and strokes[0]["tool"] == "brush"
    # Back on the pointer, the loop's edges move again.
    key(qtbot, window, Qt.Key_V)
    assert view.loop.movable and all(line.movable for line in view.loop.lines)
