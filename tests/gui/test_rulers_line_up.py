"""The spectrogram's and the overview's time rulers put each second at the same x (20.10)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF

from tests.gui.conftest import load


def screen_x(plot, seconds: float) -> float:
    """Where ``seconds`` is on screen in a pyqtgraph PlotWidget, in global pixels."""
    scene = plot.getPlotItem().getViewBox().mapViewToScene(QPointF(seconds, 0.0))
    return plot.mapToGlobal(plot.mapFromScene(scene)).x()


def tick_x(plot, seconds: float) -> float:
    """Where the ruler draws its tick for ``seconds``, in global pixels."""
    axis = plot.getPlotItem().getAxis("bottom")
    scene = axis.mapToScene(axis.mapFromView(QPointF(seconds, 0.0)))
    return plot.mapToGlobal(plot.mapFromScene(scene)).x()


def test_time_rulers_line_up_to_the_pixel(qtbot, window, short_clip):
    load(qtbot, window, short_clip)
    view, overview = window.view, window.overview
    for size in ((1024, 640), (1600, 1000), (860, 560)):
        window.resize(*size)
        view.fit()
        qtbot.wait(50)
        for t in (0.0, 1.0, 2.0, 3.5):
            assert screen_x(view, t) == pytest.approx(screen_x(overview, t), abs=1.0), (size, t)
            assert tick_x(view, t) == pytest.approx(tick_x(overview, t), abs=1.0), (size, t)
