"""The whole song at a glance: a level envelope with the visible span marked.

Dragging the marked span pans the main view; a click centres it there.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor

from stemsplit.gui.common import theme
from stemsplit.gui.common.widgets import playhead_line, time_region
from stemsplit.gui.spectrogram.axes import TimeAxis


class Overview(pg.PlotWidget):
    """Overview strip.

    Signals:
        spanRequested(start_s, end_s): the user moved the marked span.
    """

    spanRequested = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=theme.PANEL, axisItems={"bottom": TimeAxis()})
        self.setFixedHeight(72)
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.hideAxis("left")
        axis = plot.getAxis("bottom")
        axis.setPen(pg.mkPen(theme.BORDER))
        axis.setTextPen(pg.mkPen(theme.MUTED))
        axis.setHeight(20)
        self.vb = plot.getViewBox()
        self.vb.setMouseEnabled(x=False, y=False)
        self.vb.setDefaultPadding(0.0)
        fill = QColor(theme.ACCENT)
        fill.setAlpha(110)
        # Each half filled to the centre line: a FillBetweenItem rebuilt its path from
        # both curves' polygons, 75 ms of the GUI thread per curve set (2000 points).
        self.curve = pg.PlotCurveItem(pen=pg.mkPen(theme.ACCENT, width=1), fillLevel=0.0,
                                      brush=fill)
        self.lower = pg.PlotCurveItem(pen=pg.mkPen(theme.ACCENT, width=1), fillLevel=0.0,
                                      brush=fill)
        plot.addItem(self.curve)
        plot.addItem(self.lower)
        self.region = time_region(plot, theme.TEXT, 40, 10)
        # The loop, as on the spectrogram (drawn there; shown here where it is in the song).
        self.loop = time_region(plot, theme.SOLO, 70, 8)
        self.loop.setMovable(False)
        self.loop_on = True
        self.playhead = playhead_line(plot, theme.TEXT)
        self.duration = 0.0
        self._updating = False
        self.region.sigRegionChanged.connect(self._on_region)
        self.scene().sigMouseClicked.connect(self._on_click)

    def align_with(self, left_px: int) -> None:
        """Leave a blank gutter of ``left_px`` on the left, where the spectrogram has its
        frequency axis, so both time rulers put each second at the same x."""
        plot = self.getPlotItem()
        plot.showAxis("left")
        axis = plot.getAxis("left")
        axis.setWidth(left_px)
        axis.setStyle(showValues=False, tickLength=0)
        axis.setPen(pg.mkPen(None))

    def set_song(self, envelope: np.ndarray | None, duration_s: float) -> None:
        """Draw a song's envelope (peak 0..1 per point), or clear the strip."""
        self.duration = duration_s
        if envelope is None or len(envelope) == 0:
            self.curve.setData([], [])
            self.lower.setData([], [])
            self.region.hide()
            self.loop.hide()
            return
        t = np.linspace(0, duration_s, len(envelope)).astype(np.float32)
        env = np.asarray(envelope, np.float32)
        self.curve.setData(t, env)
        self.lower.setData(t, -env)
        self.vb.setLimits(xMin=0, xMax=duration_s)
        self.vb.setRange(xRange=(0, duration_s), yRange=(-1.05, 1.05), padding=0)
        self.region.setBounds((0, duration_s))
        self.show_span(0, duration_s)
        self.region.show()

    def show_loop(self, span: tuple[float, float] | None) -> None:
        """Draw the loop region (seconds), or nothing for None."""
        if span is None or self.duration <= 0:
            self.loop.hide()
            return
        self.loop.setRegion(span)
        self.loop.show()

    def set_loop_on(self, on: bool) -> None:
        """A loop that is switched off stays drawn, fainter."""
        if on != self.loop_on:
            self.loop_on = on
            colour = QColor(theme.SOLO)
            colour.setAlpha(70 if on else 25)
            self.loop.setBrush(colour)
            self.loop.update()

    def set_playhead(self, seconds: float | None) -> None:
        """Where playback is; None hides the line."""
        if seconds is None or self.duration <= 0:
            self.playhead.hide()
        else:
            self.playhead.setValue(seconds)
            self.playhead.show()

    def show_span(self, start: float, end: float) -> None:
        """Mark the main view's visible span (does not emit spanRequested)."""
        self._updating = True
        try:
            self.region.setRegion((start, end))
        finally:
            self._updating = False

    def _on_region(self) -> None:
        if not self._updating:
            start, end = self.region.getRegion()
            self.spanRequested.emit(float(start), float(end))

    def _on_click(self, event) -> None:
        if self.duration <= 0 or event.isAccepted():
            return
        x = self.vb.mapSceneToView(event.scenePos()).x()
        start, end = self.region.getRegion()
        half = (end - start) / 2
        centre = float(np.clip(x, half, self.duration - half))
        self.spanRequested.emit(centre - half, centre + half)
