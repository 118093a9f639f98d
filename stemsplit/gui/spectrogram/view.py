"""The spectrogram with one mask overlay per stem, zoomable in time.

Draws what a ``SongDisplay`` and a ``MaskAccumulator`` hold; computes nothing
expensive itself. Images follow pyqtgraph's fast path: float32 C-contiguous
data, explicit levels, a 256-entry LUT, ``setRect`` in seconds / (log) Hz,
``autoDownsample`` on.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal

from stemsplit.gui.common import theme
from stemsplit.gui.common.names import display_name
from stemsplit.gui.common.widgets import playhead_line, time_region
from stemsplit.gui.spectrogram.axes import FrequencyAxis, format_hz, format_time
from stemsplit.gui.spectrogram.display import FLOOR_DB, SongDisplay
from stemsplit.gui.spectrogram.mask_model import MaskAccumulator
from stemsplit.gui.spectrogram.notes import note_name
from stemsplit.gui.spectrogram.pyramid import Pyramid
from stemsplit.gui.spectrogram.viewbox import END, MOVE, START, RulerAxis, TimeViewBox

MIX = "mix"  # view mode: the mixture with mask overlays
FREQ_AXIS_PX = 60  # the frequency axis's width (the overview leaves the same gutter)


def _image() -> pg.ImageItem:
    item = pg.ImageItem(axisOrder="row-major")
    item.setAutoDownsample(True)
    return item


class SpectrogramView(pg.PlotWidget):
    """Mixture spectrogram, per-stem mask overlays, a playhead, and a hover readout.

    Signals:
        xRangeChanged(start_s, end_s): the visible time span changed.
        hovered(text): a one-line readout of the point under the mouse ("" when off).
        clickedAt(seconds): a single left click on the spectrogram (not a drag).
        baseLutChanged(lut, levels): the colours of the spectrogram changed (for a legend).
        loopChanged(start_s, end_s): the user drew (Shift+drag) or edited the loop region;
            an empty span (Shift+click) clears it.
        loopShown(span): the region on screen changed, by the user or not: ``(start_s,
            end_s)`` or None (the overview draws it too).
    """

    xRangeChanged = Signal(float, float)
    hovered = Signal(str)
    clickedAt = Signal(float)  # a single click at this time (seek there)
    loopChanged = Signal(float, float)
    loopShown = Signal(object)
    baseLutChanged = Signal(object, object)  # the mixture's LUT and its (low, high) dB levels

    def __init__(self, parent=None) -> None:
        self.time_axis = RulerAxis()
        self.freq_axis = FrequencyAxis()
        super().__init__(parent, background=theme.BACKGROUND, viewBox=TimeViewBox(),
                         axisItems={"bottom": self.time_axis, "left": self.freq_axis})
        self.setMinimumHeight(150)  # the window's minimum size still shows the whole view
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.showGrid(x=False, y=False)
        for axis in (self.time_axis, self.freq_axis):
            axis.setPen(pg.mkPen(theme.BORDER))
            axis.setTextPen(pg.mkPen(theme.MUTED))
        self.freq_axis.setWidth(FREQ_AXIS_PX)
        self.vb = plot.getViewBox()
        self.vb.setMouseEnabled(x=True, y=False)  # wheel zooms time, drag pans time
        self.vb.setDefaultPadding(0.0)
        self.base = _image()
        self.base.setLookupTable(theme.spectrogram_lut())
        plot.addItem(self.base)
        self.overlays: dict[str, pg.ImageItem] = {}
        self.overlay_on: dict[str, bool] = {}
        self.colours: dict[str, str] = {}
        self.playhead = playhead_line(plot, theme.TEXT)
        self.loop = time_region(plot, theme.SOLO, 38, 15)
        self.song: SongDisplay | None = None
        self.masks: MaskAccumulator | None = None
        self.scale = "log"
        self.mode = MIX
        self.opacity = 0.75
        self._level: dict[str, np.ndarray] = {}
        self._pyramids: dict[pg.ImageItem, Pyramid] = {}  # what each image layer shows
        self._lod = 0  # pyramid level on screen
        self._base_is_grey = False
        self.vb.selecting.connect(self._on_selecting)
        self.loop.sigRegionChangeFinished.connect(self._on_loop_edited)
        self.loop.sigRegionChanged.connect(lambda *_: self.loopShown.emit(self.loop_span()))
        self._setting_loop = False
        self.vb.sigXRangeChanged.connect(self._on_x_range)
        self.vb.sigResized.connect(self._update_lod)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_clicked)

    # -- song and stems ------------------------------------------------------------------

    def set_song(self, song: SongDisplay | None) -> None:
        """Show a new song (or nothing); forgets masks of the previous one."""
        self.song = song
        self.masks = None
        self.mode = MIX
        self.set_loop(None)
        self._level = {}
        if song is not None:
            self._level = song.levels()  # computed in the loader's thread
        self._redraw_all()
        self.fit()

    def set_stems(self, names: list[str], colours: dict[str, str]) -> None:
        """Create one overlay image per stem, in the stems' colours."""
        plot = self.getPlotItem()
        for item in self.overlays.values():
            plot.removeItem(item)
            self._pyramids.pop(item, None)
        self.overlays, self.colours = {}, dict(colours)
        for z, name in enumerate(names):
            item = _image()
            item.setLookupTable(theme.overlay_lut(colours[name]))
            item.setZValue(5 + z)
            item.setCompositionMode(
                pg.QtGui.QPainter.CompositionMode.CompositionMode_Screen)
            plot.addItem(item)
            self.overlays[name] = item
            self.overlay_on.setdefault(name, True)
        self._redraw_all()

    def set_masks(self, masks: MaskAccumulator | None) -> None:
        self.masks = masks
        self._redraw_all()

    def masks_changed(self, first: int = 0, stop: int | None = None) -> None:
        """Redraw after masks arrived for columns ``[first, stop)``.

        Only those columns are recomputed; on a 10-minute song a full redraw per
        chunk would cost tens of milliseconds of the GUI thread.
        """
        if self.song is None or self.masks is None:
            return
        if self.mode != MIX or not self._base_is_grey:
            self._draw_base()  # one stem alone, or the first colour: switch the mixture to grey
            if self.mode != MIX:
                return
        stop = self.song.grids[self.scale].columns if stop is None else stop
        cols = slice(first, stop)
        level = self._level[self.scale][:, cols]
        arrays = self.masks.array(self.scale)
        for name, item in self.overlays.items():
            pyramid = self._pyramids.get(item)
            if pyramid is None:  # hidden layer: rebuilt when shown again
                continue
            pyramid.base[:, cols] = arrays[self.masks.stems.index(name)][:, cols] * level
            pyramid.update(first, stop)
            self._show(item)

    # -- view options --------------------------------------------------------------------

    def set_scale(self, scale: str) -> None:
        if scale != self.scale:
            self.scale = scale
            self.freq_axis.set_log(scale == "log")
            self._redraw_all()
            self.vb.set_y_full(*self._y_range())
            self.vb.setYRange(*self._y_range(), padding=0)

    def set_mode(self, mode: str) -> None:
        """``MIX`` for mixture + overlays, or a stem name for that stem alone."""
        self.mode = mode
        self._redraw_all()

    def set_overlay_visible(self, name: str, visible: bool) -> None:
        self.overlay_on[name] = visible
        self._draw_overlays()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = float(np.clip(opacity, 0.0, 1.0))
        for item in self.overlays.values():
            item.setOpacity(self.opacity)

    def set_playhead(self, seconds: float | None) -> None:
        """Where playback is; None hides the line."""
        if seconds is None:
            self.playhead.hide()
        else:
            self.playhead.setValue(seconds)
            self.playhead.show()

    def follow(self, seconds: float) -> None:
        """Turn the page when the playhead leaves the visible span (as DAWs do)."""
        x0, x1 = self.x_range()
        if self.song is None or x0 <= seconds <= x1:
            return
        width = x1 - x0
        start = min(max(0.0, seconds - 0.05 * width), max(0.0, self.song.duration_s - width))
        self.set_x_range(start, start + width)

    def set_loop(self, span: tuple[float, float] | None) -> None:
        """Show the loop region (seconds), or hide it; does not emit loopChanged."""
        self._setting_loop = True
        try:
            if span is None:
                self.loop.hide()
            else:
                if self.song is not None:
                    self.loop.setBounds((0, self.song.duration_s))
                self.loop.setRegion(span)
                self.loop.show()
        finally:
            self._setting_loop = False
        self.loopShown.emit(self.loop_span())

    def loop_span(self) -> tuple[float, float] | None:
        if not self.loop.isVisible():
            return None
        a, b = self.loop.getRegion()
        return float(a), float(b)

    def fit(self) -> None:
        """Show the whole song."""
        if self.song is None:
            self.vb.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            return
        d = self.song.duration_s
        self.vb.setLimits(xMin=0, xMax=d, minXRange=min(0.05, d))
        self.vb.set_y_full(*self._y_range())
        self.vb.setRange(xRange=(0, d), yRange=self._y_range(), padding=0)

    def set_x_range(self, start: float, end: float) -> None:
        self.vb.setXRange(start, end, padding=0)

    def x_range(self) -> tuple[float, float]:
        (x0, x1), _ = self.vb.viewRange()
        return float(x0), float(x1)

    # -- drawing -------------------------------------------------------------------------

    def _y_range(self) -> tuple[float, float]:
        return self.song.grids[self.scale].y_range if self.song else (0.0, 1.0)

    def _redraw_all(self) -> None:
        self._draw_base()
        self._draw_overlays()

    def _has_masks(self) -> bool:
        return self.masks is not None and bool(self.masks.covered(self.scale).any())

    def _draw_base(self) -> None:
        self._base_is_grey = False
        if self.song is None:
            self.base.clear()
            return
        db = self.song.db[self.scale]
        if self.mode != MIX and self.masks is not None and self.mode in self.masks.stems:
            # A stem's own spectrogram: the engine applies the mask to the mixture STFT,
            # so the stem's level is the mixture's plus 20*log10(mask).
            mask = self.masks.array(self.scale)[self.masks.stems.index(self.mode)]
            data = np.maximum(db + 20 * np.log10(np.maximum(mask, 1e-6)), FLOOR_DB)
            lut = theme.spectrogram_lut()
        else:
            data = db
            self._base_is_grey = self._has_masks()
            lut = theme.grey_lut() if self._base_is_grey else theme.spectrogram_lut()
        self.base.setLookupTable(lut)
        self.baseLutChanged.emit(lut, (FLOOR_DB, 0.0))
        self._pyramids[self.base] = Pyramid(data)
        self._show(self.base)

    def _draw_overlays(self) -> None:
        """Rebuild every overlay image from the masks (after a scale, mode or song change)."""
        show = self.song is not None and self.masks is not None and self.mode == MIX
        for name, item in self.overlays.items():
            if not (show and self.overlay_on.get(name, True) and name in self.masks.stems):
                item.hide()
                self._pyramids.pop(item, None)
                continue
            mask = self.masks.array(self.scale)[self.masks.stems.index(name)]
            self._pyramids[item] = Pyramid(mask * self._level[self.scale])
            self._show(item)
            item.setOpacity(self.opacity)
            item.show()

    def _show(self, item: pg.ImageItem) -> None:
        """Put the current pyramid level of a layer on screen, mapped to seconds and Hz."""
        pyramid = self._pyramids[item]
        lod = min(self._lod, len(pyramid.levels) - 1)
        data = pyramid.levels[lod]
        levels = (FLOOR_DB, 0.0) if item is self.base else (0.0, 1.0)
        item.setImage(data, levels=levels, autoLevels=False)
        grid = self.song.grids[self.scale]
        y0, y1 = grid.y_range
        # A coarser level may end past the song by less than 2**lod columns (edge padding).
        item.setRect(QRectF(0.0, y0, data.shape[1] * (2 ** lod) * grid.dt, y1 - y0))

    def _update_lod(self, *_args) -> None:
        """Pick the pyramid level for the visible span; redraw the layers if it changed."""
        if self.song is None or self.base not in self._pyramids:
            return
        x0, x1 = self.x_range()
        visible = (x1 - x0) / self.song.grids[self.scale].dt
        lod = self._pyramids[self.base].level_for(visible, self.vb.width())
        if lod != self._lod:
            self._lod = lod
            for item in [self.base, *self.overlays.values()]:
                if item in self._pyramids:
                    self._show(item)

    # -- interaction ---------------------------------------------------------------------

    def _on_x_range(self, _vb, rng) -> None:
        self._update_lod()
        self.xRangeChanged.emit(float(rng[0]), float(rng[1]))

    def _on_selecting(self, start: float, end: float, finished: bool) -> None:
        if self.song is None:
            return
        d = self.song.duration_s
        start, end = min(max(start, 0.0), d), min(max(end, 0.0), d)
        if end - start < 0.01:  # a Shift+click, or a drag of a few pixels: no region
            if finished and self.loop.isVisible():
                self.set_loop(None)
                self.loopChanged.emit(0.0, 0.0)
            return
        self.set_loop((start, end))
        if finished:
            self.loopChanged.emit(start, end)

    def _on_loop_edited(self) -> None:
        if not self._setting_loop and self.loop.isVisible():
            a, b = self.loop.getRegion()
            self.loopChanged.emit(float(a), float(b))

    def set_tool(self, tool: str) -> None:
        """"pointer" (pan, zoom, seek, loop) or an edit tool (drags become strokes)."""
        self.vb.tool = tool
        self.viewport().setCursor(Qt.ArrowCursor if tool == "pointer" else Qt.CrossCursor)

    def _on_clicked(self, event) -> None:
        if event.double():
            self.fit()
        elif self.vb.tool != "pointer":
            if event.button() == Qt.LeftButton and self.vb.tool == "brush":  # a single dab
                p = self.vb.mapSceneToView(event.scenePos())
                for phase in (START, MOVE, END):
                    self.vb.stroke.emit(float(p.x()), float(p.y()), phase)
        elif self.song is not None and event.button() == Qt.LeftButton:
            x = self.vb.mapSceneToView(event.scenePos()).x()
            if 0 <= x <= self.song.duration_s:
                self.clickedAt.emit(float(x))

    def _on_mouse_moved(self, pos) -> None:
        if self.song is None or not self.vb.sceneBoundingRect().contains(pos):
            self.hovered.emit("")
            return
        point = self.vb.mapSceneToView(pos)
        self.hovered.emit(self.readout(point.x(), point.y()))

    def probe(self, seconds: float, y: float) -> dict | None:
        """Values at a point of the view: time, frequency, level and stem shares."""
        if self.song is None:
            return None
        grid = self.song.grids[self.scale]
        col = int(seconds / grid.dt)
        row = grid.row_of_y(y)
        if not (0 <= col < grid.columns and 0 <= row < grid.rows):
            return None
        info = {"time_s": seconds, "hz": grid.hz_of_y(y),
                "db": float(self.song.db[self.scale][row, col]), "shares": {}}
        if self.masks is not None and self.masks.covered(self.scale)[col]:
            arr = self.masks.array(self.scale)
            info["shares"] = {n: float(arr[i, row, col]) for i, n in enumerate(self.masks.stems)}
        return info

    def readout(self, seconds: float, y: float) -> str:
        info = self.probe(seconds, y)
        if info is None:
            return ""
        hz = f"{format_hz(info['hz'])} · {note_name(info['hz'])}"
        parts = [format_time(info["time_s"], 2), hz, f"{info['db']:.0f} dB"]
        names = list(info["shares"])
        percents = whole_percents(list(info["shares"].values()))
        parts += [f"{display_name(n)} {p}%" for n, p in zip(names, percents, strict=True)]
        return "   ".join(parts)


def whole_percents(shares: list[float]) -> list[int]:
    """Shares as whole percents that add up to exactly 100 (largest remainder first).

    Rounding each share alone can read "vocals 50 % accompaniment 51 %".
    """
    total = sum(shares)
    if not shares or total <= 0:
        return [0 for _ in shares]
    exact = [100 * s / total for s in shares]
    out = [int(e) for e in exact]
    for i in sorted(range(len(exact)), key=lambda i: out[i] - exact[i])[: 100 - sum(out)]:
        out[i] += 1
    return out
