"""Transport icons drawn with QPainter.

Drawn rather than typed: media symbols such as U+23EE are missing from many
fonts (they showed as empty boxes on Linux), and drawn shapes take the theme's
colours and scale crisply on high-DPI screens.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QPolygonF

from stemsplit.gui.common import theme

SIZE = 16


def _triangle(p: QPainter, x0: float, x1: float) -> None:
    p.drawPolygon(QPolygonF([QPointF(x0, 2), QPointF(x1, SIZE / 2), QPointF(x0, SIZE - 2)]))


def _draw(p: QPainter, kind: str) -> None:
    if kind == "play":
        _triangle(p, 4, 14)
    elif kind == "pause":
        p.drawRect(QRectF(3.5, 2.5, 3.5, 11))
        p.drawRect(QRectF(9.5, 2.5, 3.5, 11))
    elif kind == "stop":
        p.drawRect(QRectF(3, 3, 10, 10))
    elif kind == "to_start":
        p.drawRect(QRectF(2.5, 2.5, 2, 11))
        p.drawPolygon(QPolygonF([QPointF(14, 2), QPointF(5, SIZE / 2), QPointF(14, SIZE - 2)]))
    else:
        raise ValueError(f"unknown glyph {kind!r}")


def glyph_icon(kind: str, colour: str = theme.TEXT) -> QIcon:
    """``play``, ``pause``, ``stop`` or ``to_start`` in ``colour`` (greyed when disabled)."""
    icon = QIcon()
    for mode, c in ((QIcon.Normal, colour), (QIcon.Disabled, theme.MUTED)):
        for scale in (1, 2):
            pixmap = QPixmap(SIZE * scale, SIZE * scale)
            pixmap.fill(Qt.transparent)
            p = QPainter(pixmap)
            p.setRenderHint(QPainter.Antialiasing)
            p.scale(scale, scale)
            p.setPen(Qt.NoPen)
            p.setBrush(QColor(c))
            _draw(p, kind)
            p.end()
            pixmap.setDevicePixelRatio(scale)
            icon.addPixmap(pixmap, mode)
    return icon


ICON_SIZE = QSize(SIZE, SIZE)
