"""The brush's size ring under the mouse (issue 20.11), in the real window with the real mouse."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from tests.gui.test_mask_editing import key, separate, vpos


def ring_size_px(view, ring) -> tuple[float, float]:
    """The ring's width and height on screen, through the view's own mapping."""
    rect = view.vb.mapViewToScene(ring.item.rect()).boundingRect()
    return rect.width(), rect.height()


def hover(qtbot, view, point: QPoint) -> None:
    qtbot.wait(20)  # pyqtgraph drops mouse moves that come faster than a hand makes them
    qtbot.mouseMove(view.viewport(), point)
    qtbot.wait(20)


def test_the_ring_shows_the_brush_size_at_the_mouse_and_follows_zoom(qtbot, window, short_clip):
    view, tools, ring = window.view, window.edits.tools, window.edits.ring
    separate(qtbot, window, short_clip)
    at = vpos(view, 1.0, 1000.0)
    hover(qtbot, view, at)
    assert not ring.item.isVisible()  # the pointer has no ring
    key(qtbot, window, Qt.Key_B)
    tools.size.setValue(60)
    hover(qtbot, view, at + QPoint(3, 0))
    hover(qtbot, view, at)
    assert ring.item.isVisible()
    px, py = view.vb.pixel_size()
    rect = ring.item.rect()
    # Radii in view coordinates: the brush radius in pixels times view units per pixel,
    # as the stroke hands them to the core (EditGlue.stroke_geometry).
    assert rect.width() / 2 == pytest.approx(30 * px, rel=1e-6)
    assert rect.height() / 2 == pytest.approx(30 * py, rel=1e-6)
    centre = view.vb.mapSceneToView(view.mapToScene(at))
    assert rect.center().x() == pytest.approx(centre.x(), abs=2 * px)
    assert rect.center().y() == pytest.approx(centre.y(), abs=2 * py)
    assert ring_size_px(view, ring) == pytest.approx((60, 60), abs=1.0)

    # Zooming in time: the ring stays 60 px on screen, so it spans fewer seconds.
    width_s = rect.width()
    view.set_x_range(0.5, 1.5)
    qtbot.wait(20)
    assert ring.item.rect().width() < width_s / 2
    assert ring_size_px(view, ring) == pytest.approx((60, 60), abs=1.0)
    tools.size.setValue(20)
    assert ring_size_px(view, ring) == pytest.approx((20, 20), abs=1.0)

    # Over the frequency axis (outside the plot area), then out of the view: hidden.
    hover(qtbot, view, QPoint(5, at.y()))
    assert not ring.item.isVisible()
    hover(qtbot, view, vpos(view, 1.0, 1000.0))
    assert ring.item.isVisible()
    qtbot.mouseMove(window.stem_list, QPoint(10, 10))
    qtbot.waitUntil(lambda: not ring.item.isVisible(), timeout=2000)

    # Another tool: no ring, even with the mouse back over the spectrogram.
    hover(qtbot, view, vpos(view, 1.0, 1000.0))
    assert ring.item.isVisible()
    key(qtbot, window, Qt.Key_R)
    assert not ring.item.isVisible()
    hover(qtbot, view, vpos(view, 1.2, 2000.0))
    assert not ring.item.isVisible()
    key(qtbot, window, Qt.Key_B)
    hover(qtbot, view, vpos(view, 1.0, 1000.0))
    assert ring.item.isVisible()
    key(qtbot, window, Qt.Key_Escape)
    assert not ring.item.isVisible()
