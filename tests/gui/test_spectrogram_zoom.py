"""The real window: frequency zoom, the dB colour legend and note names in the read-out."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from stemsplit.gui.common import theme
from tests.gui.conftest import load


def _wheel(widget, pos: QPoint, steps: int, modifiers=Qt.NoModifier) -> None:
    for _ in range(abs(steps)):
        QApplication.sendEvent(widget, QWheelEvent(
            QPointF(pos), QPointF(widget.mapToGlobal(pos)), QPoint(0, 0),
            QPoint(0, 120 if steps > 0 else -120), Qt.NoButton, modifiers,
            Qt.NoScrollPhase, False))


def _double_click(widget, pos: QPoint) -> None:
    for kind in (QEvent.MouseButtonPress, QEvent.MouseButtonRelease,
                 QEvent.MouseButtonDblClick, QEvent.MouseButtonRelease):
        pressed = Qt.NoButton if kind == QEvent.MouseButtonRelease else Qt.LeftButton
        QApplication.sendEvent(widget, QMouseEvent(
            kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), Qt.LeftButton, pressed,
            Qt.NoModifier))


def _viewport_pos(view, seconds: float, y: float) -> QPoint:
    """Where (seconds, y) of the view's axes lies on its viewport, in pixels."""
    scene = view.vb.mapViewToScene(QPointF(seconds, y))
    return view.mapFromScene(scene)


@pytest.mark.parametrize("scale", ["log", "linear"])
def test_ctrl_wheel_zooms_frequency_around_the_mouse_and_double_click_fits(
        qtbot, window, demo_path, scale):
    load(qtbot, window, demo_path)
    window.stem_list.set_scale(scale)
    view, vb = window.view, window.view.vb
    full = view.song.grids[scale].y_range
    assert vb.viewRange()[1] == pytest.approx(full)
    x_before = view.x_range()
    grid = view.song.grids[scale]
    anchor = grid.y_of_hz(1000.0)
    pos = _viewport_pos(view, 5.0, anchor)
    _wheel(view.viewport(), pos, 4, Qt.ControlModifier)
    y0, y1 = vb.viewRange()[1]
    assert (y1 - y0) < 0.8 * (full[1] - full[0])
    assert view.x_range() == pytest.approx(x_before)  # time untouched
    # The frequency under the mouse stays under the mouse.
    assert vb.mapSceneToView(view.mapToScene(pos)).y() == pytest.approx(anchor, abs=0.01 * (
        full[1] - full[0]))
    assert full[0] - 1e-9 <= y0 and y1 <= full[1] + 1e-9
    # The read-out names the note under the mouse.
    readout = view.readout(5.0, grid.y_of_hz(440.0))
    assert "440 Hz · A4 +0c" in readout
    # Zoomed in, a drag pans frequency as well as time.
    before = vb.viewRange()[1]
    start = view.viewport().rect().center()
    qtbot.mousePress(view.viewport(), Qt.LeftButton, pos=start)
    for dy in (10, 20, 40):
        qtbot.mouseMove(view.viewport(), QPoint(start.x(), start.y() - dy))
    qtbot.mouseRelease(view.viewport(), Qt.LeftButton, pos=QPoint(start.x(), start.y() - 40))
    after = vb.viewRange()[1]
    assert after[0] < before[0] and after[1] - after[0] == pytest.approx(before[1] - before[0])
    # Zooming far in stops at the limit, still inside the axis; zooming out stops at all.
    _wheel(view.viewport(), pos, 60, Qt.ControlModifier)
    y0, y1 = vb.viewRange()[1]
    assert y1 - y0 >= (full[1] - full[0]) / 64 * 0.99 and y0 >= full[0] - 1e-9
    ticks = view.freq_axis.tickValues(y0, y1, view.freq_axis.height())
    assert sum(len(v) for _, v in ticks) >= 2  # labels at any zoom
    _double_click(view.viewport(), view.viewport().rect().center())
    qtbot.waitUntil(lambda: vb.viewRange()[1] == pytest.approx(full), timeout=5_000)


def test_wheel_over_frequency_axis_zooms_frequency_only(qtbot, window, demo_path):
    load(qtbot, window, demo_path)
    view, vb = window.view, window.view.vb
    full = vb.viewRange()[1]
    x_before = view.x_range()
    axis_scene = view.freq_axis.sceneBoundingRect().center()
    _wheel(view.viewport(), view.mapFromScene(axis_scene), 5)
    y0, y1 = vb.viewRange()[1]
    assert (y1 - y0) < 0.8 * (full[1] - full[0])
    assert view.x_range() == pytest.approx(x_before)
    _wheel(view.viewport(), view.mapFromScene(axis_scene), -20)  # out again: the whole axis
    assert vb.viewRange()[1] == pytest.approx(full)


def test_colour_legend_matches_the_spectrogram(qtbot, window, demo_path):
    load(qtbot, window, demo_path)
    legend = window.legend
    assert legend.isVisible() and legend.height() > 100
    np.testing.assert_array_equal(legend.lut, theme.spectrogram_lut()[:, :3])
    assert legend.levels == (window.view.base.levels[0], window.view.base.levels[1])
    assert legend.ticks()[0] == 0.0 and legend.ticks()[-1] <= -60
    # The top of the bar is 0 dB, the bottom the floor; the painted colours follow the LUT.
    image = legend.grab().toImage()
    r = legend.bar_rect()
    top = image.pixelColor(r.center().x(), r.top() + 2)
    bottom = image.pixelColor(r.center().x(), r.bottom() - 2)
    lut = theme.spectrogram_lut()
    assert np.abs(np.array([top.red(), top.green(), top.blue()]) - lut[-3, :3]).max() < 12
    assert np.abs(np.array([bottom.red(), bottom.green(), bottom.blue()]) - lut[2, :3]).max() < 12
    grey = theme.grey_lut()
    window.view.baseLutChanged.emit(grey, (-90.0, 0.0))
    np.testing.assert_array_equal(legend.lut, grey[:, :3])
