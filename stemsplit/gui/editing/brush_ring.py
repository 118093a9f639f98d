"""The brush's outline at the mouse: a ring of the brush's size before anything is painted.

The ring lives in view coordinates (seconds, and log10(Hz) or Hz), like the stroke
it predicts: its radii are the brush radius in screen pixels times the view units
per pixel, the same figures ``EditGlue.stroke_geometry`` hands the core. So it
follows zoom and pan by itself, and its size on screen is the brush's.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem

from stemsplit.gui.common import theme


class BrushRing(QObject):
    """A ring under the mouse while the brush tool is chosen.

    Args:
        view: the SpectrogramView (its ViewBox ``vb`` maps the mouse to view coordinates).
        size_px: returns the brush diameter in screen pixels (the tool bar's Size).

    Attributes:
        item: the ring, a QGraphicsEllipseItem in the plot's view coordinates.
    """

    def __init__(self, view, size_px: Callable[[], int]) -> None:
        super().__init__(view)
        self.view = view
        self.size_px = size_px
        self.tool = "pointer"
        self.centre: QPointF | None = None  # the mouse in view coordinates, None: away
        self.item = QGraphicsEllipseItem()
        pen = QPen(QColor(theme.TEXT), 1.2)
        pen.setCosmetic(True)  # one pixel thin at any zoom
        self.item.setPen(pen)
        self.item.setZValue(60)  # above the overlays and the stroke being drawn
        self.item.hide()
        # Not part of the song's extent: it must never widen an auto-range.
        view.getPlotItem().addItem(self.item, ignoreBounds=True)
        view.scene().sigMouseMoved.connect(self._on_mouse_moved)
        view.vb.sigRangeChanged.connect(lambda *_a: self.update())
        view.vb.sigResized.connect(lambda *_a: self.update())
        view.viewport().installEventFilter(self)

    def set_tool(self, tool: str) -> None:
        self.tool = tool
        self.update()

    def radii(self) -> tuple[float, float]:
        """The brush radius in view units: (seconds, y units)."""
        px, py = self.view.vb.pixel_size()
        radius = self.size_px() / 2
        return radius * px, radius * py

    def update(self) -> None:
        """Redraw at the last mouse position with the current size and zoom (or hide)."""
        if self.tool != "brush" or self.centre is None or self.view.song is None:
            self.item.hide()
            return
        rx, ry = self.radii()
        c = self.centre
        self.item.setRect(QRectF(c.x() - rx, c.y() - ry, 2 * rx, 2 * ry))
        self.item.show()

    def _on_mouse_moved(self, scene_pos) -> None:
        vb = self.view.vb
        inside = vb.sceneBoundingRect().contains(scene_pos)
        self.centre = vb.mapSceneToView(scene_pos) if inside else None
        self.update()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Leave:  # the mouse left the view: no ring at its edge
            self.centre = None
            self.update()
        return False
