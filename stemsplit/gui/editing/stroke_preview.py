"""What an edit tool draws while dragging: the brush's path, the rectangle or the lasso.

Collects the stroke in view coordinates (seconds, and log10(Hz) or Hz) and
shows it over the spectrogram; the glue turns the finished stroke into a
region for the core's mask editor.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPolygonItem, QGraphicsRectItem


class StrokePreview:
    """The stroke being drawn on ``plot`` (a pyqtgraph PlotItem).

    Attributes:
        tool: "brush", "rectangle" or "lasso" for the stroke in progress.
        points: the stroke's points in view coordinates, ``(n, 2)``.
    """

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.tool = ""
        self.points = np.zeros((0, 2))
        self.curve = pg.PlotCurveItem()
        self.curve.setZValue(50)
        self.rect = QGraphicsRectItem()
        self.rect.setZValue(50)
        # The lasso's outline, closed and filled by the even-odd rule: the core's inside.
        self.outline = QGraphicsPolygonItem()
        self.outline.setFillRule(Qt.OddEvenFill)
        self.outline.setZValue(50)
        plot.addItem(self.curve)
        plot.addItem(self.rect)
        plot.addItem(self.outline)
        self.clear()

    def start(self, tool: str, x: float, y: float, colour: str, size_px: int) -> None:
        self.tool = tool
        self.points = np.array([[x, y]])
        fill = QColor(colour)
        fill.setAlpha(110)
        if tool == "brush":
            pen = QPen(fill, float(size_px))
            pen.setCosmetic(True)  # width in screen pixels, at any zoom
            pen.setCapStyle(Qt.RoundCap)
            pen.setJoinStyle(Qt.RoundJoin)
            self.curve.setPen(pen)
            self.curve.show()
        else:
            edge = QPen(QColor(colour), 1.5, Qt.DashLine)
            edge.setCosmetic(True)
            fill.setAlpha(60)
            shape = self.outline if tool == "lasso" else self.rect
            shape.setPen(edge)
            shape.setBrush(QBrush(fill))
            shape.show()
        self.move(x, y)

    def move(self, x: float, y: float) -> None:
        if not self.tool:
            return
        if self.tool in ("brush", "lasso"):
            if len(self.points) == 0 or not np.allclose(self.points[-1], (x, y)):
                self.points = np.vstack([self.points, [x, y]])
        if self.tool == "brush":
            # A dab (one point) still shows: a zero-length segment with round caps.
            pts = self.points if len(self.points) > 1 else np.vstack([self.points] * 2)
            self.curve.setData(pts[:, 0], pts[:, 1])
        elif self.tool == "lasso":
            self.outline.setPolygon(QPolygonF([QPointF(px, py) for px, py in self.points]))
        else:
            self.points = np.array([self.points[0], [x, y]])
            self.rect.setRect(self.rect_view())

    def rect_view(self) -> QRectF:
        (x0, y0), (x1, y1) = self.points[0], self.points[-1]
        return QRectF(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))

    def clear(self) -> None:
        self.tool = ""
        self.points = np.zeros((0, 2))
        self.curve.setData([], [])
        self.curve.hide()
        self.rect.hide()
        self.outline.setPolygon(QPolygonF())
        self.outline.hide()
