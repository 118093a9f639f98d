"""The spectrogram's ViewBox and time ruler: the mouse gestures of the view.

- wheel: zoom time (pyqtgraph's own); Ctrl+wheel, or the wheel over the
  frequency axis: zoom frequency around the mouse;
- drag: pan time, and frequency too once it is zoomed;
- Shift+drag (or a drag along the time ruler): select a time span (the loop);
- with an edit tool chosen (``tool`` not "pointer"), a left drag is a stroke:
  ``stroke(x, y, phase)`` in view coordinates, phase START, MOVE, then END.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from stemsplit.gui.spectrogram.axes import TimeAxis

MIN_Y_FRACTION = 1 / 64  # the deepest frequency zoom, as a fraction of the full axis
START, MOVE, END = 0, 1, 2  # phases of a stroke


class TimeViewBox(pg.ViewBox):
    """A ViewBox where Shift+drag selects a time span and Ctrl+wheel zooms frequency."""

    selecting = Signal(float, float, bool)  # start_s, end_s, finished
    stroke = Signal(float, float, int)  # x (s), y (view units), phase: an edit tool's drag

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.y_full: tuple[float, float] = (0.0, 1.0)
        self.tool = "pointer"

    def pixel_size(self) -> tuple[float, float]:
        """View units per screen pixel: (seconds, y units)."""
        (x0, x1), (y0, y1) = self.viewRange()
        rect = self.sceneBoundingRect()
        return (x1 - x0) / max(rect.width(), 1.0), (y1 - y0) / max(rect.height(), 1.0)

    def set_y_full(self, lo: float, hi: float) -> None:
        """The whole frequency axis: the limit of panning and of zooming out."""
        self.y_full = (float(lo), float(hi))
        span = hi - lo
        self.setLimits(yMin=lo, yMax=hi, minYRange=span * MIN_Y_FRACTION, maxYRange=span)

    def y_zoomed(self) -> bool:
        (_, _), (y0, y1) = self.viewRange()
        lo, hi = self.y_full
        return (y1 - y0) < (hi - lo) * 0.999

    def zoom_y(self, factor: float, centre: float) -> None:
        """Scale the frequency span by ``factor`` (< 1 zooms in), keeping ``centre`` still."""
        (_, _), (y0, y1) = self.viewRange()
        lo, hi = self.y_full
        full = hi - lo
        span = min(max((y1 - y0) * factor, full * MIN_Y_FRACTION), full)
        frac = (centre - y0) / (y1 - y0) if y1 > y0 else 0.5
        start = min(max(centre - frac * span, lo), hi - span)
        self.setYRange(start, start + span, padding=0)

    def wheelEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph's name
        if axis == 1 or (axis is None and ev.modifiers() & Qt.ControlModifier):
            ev.accept()
            factor = 1.02 ** (-ev.delta() / 8)  # pyqtgraph's own wheel step
            self.zoom_y(factor, self.mapSceneToView(ev.scenePos()).y())
            return
        super().wheelEvent(ev, axis)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph's name
        if ev.button() == Qt.LeftButton and ev.modifiers() & Qt.ShiftModifier:
            ev.accept()
            a = self.mapSceneToView(ev.buttonDownScenePos()).x()
            b = self.mapSceneToView(ev.scenePos()).x()
            self.selecting.emit(float(min(a, b)), float(max(a, b)), bool(ev.isFinish()))
            return
        if self.tool != "pointer" and axis is None and ev.button() == Qt.LeftButton:
            ev.accept()
            if ev.isStart():
                first = self.mapSceneToView(ev.buttonDownScenePos())
                self.stroke.emit(float(first.x()), float(first.y()), START)
            point = self.mapSceneToView(ev.scenePos())
            self.stroke.emit(float(point.x()), float(point.y()), MOVE)
            if ev.isFinish():
                self.stroke.emit(float(point.x()), float(point.y()), END)
            return
        super().mouseDragEvent(ev, axis)
        if axis is None and ev.button() == Qt.LeftButton and self.y_zoomed():
            dy = (self.mapSceneToView(ev.lastScenePos()).y()
                  - self.mapSceneToView(ev.scenePos()).y())
            self.translateBy(y=dy)


class RulerAxis(TimeAxis):
    """The time ruler under the spectrogram: dragging along it draws the loop region."""

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph's name
        vb = self.linkedView()
        if vb is None or ev.button() != Qt.LeftButton:
            super().mouseDragEvent(ev)
            return
        ev.accept()
        a = vb.mapSceneToView(ev.buttonDownScenePos()).x()
        b = vb.mapSceneToView(ev.scenePos()).x()
        vb.selecting.emit(float(min(a, b)), float(max(a, b)), bool(ev.isFinish()))
