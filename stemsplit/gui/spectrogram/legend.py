"""A small vertical colour bar with dB ticks: how loud each colour of the spectrogram is."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from stemsplit.gui.common import theme


class ColourLegend(QWidget):
    """Shows a 256-entry LUT from ``low_db`` (bottom) to ``high_db`` (top), with dB ticks.

    The view tells it which LUT and levels it draws with (``set_lut``), so the
    bar always matches the picture: the colour map of the mixture, or the grey
    one under the stems' mask overlays.
    """

    BAR_WIDTH = 12

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.lut = theme.spectrogram_lut()
        self.levels = (-90.0, 0.0)
        self.step_db = 10.0
        self.setFixedWidth(52)
        self.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Expanding)
        self.setToolTip("Level of each colour, in dB below the song's loudest point")

    def set_lut(self, lut: np.ndarray, levels: tuple[float, float]) -> None:
        self.lut = np.ascontiguousarray(lut[:, :3], dtype=np.uint8)
        self.levels = (float(levels[0]), float(levels[1]))
        self.update()

    def ticks(self) -> list[float]:
        """The dB values labelled on the bar (top first)."""
        low, high = self.levels
        first = np.ceil(low / self.step_db) * self.step_db
        values = np.arange(first, high + 1e-6, self.step_db)
        if len(values) > 6:  # a short bar: every other label
            values = values[::-2][::-1] if values[-1] == high else values[::2]
        return sorted((float(v) for v in values), reverse=True)

    def bar_rect(self) -> QRect:
        """Where the colours are drawn (margins keep the end labels inside the widget)."""
        return QRect(4, 8, self.BAR_WIDTH, max(1, self.height() - 16 - 24))

    def y_of_db(self, db: float) -> float:
        r = self.bar_rect()
        low, high = self.levels
        return r.bottom() - (db - low) / (high - low) * (r.height() - 1)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        r = self.bar_rect()
        column = np.ascontiguousarray(np.repeat(self.lut[::-1, None, :], 1, axis=1))
        image = QImage(column.data, 1, column.shape[0], 3, QImage.Format_RGB888)
        painter.drawImage(r, image)
        painter.setPen(QColor(theme.BORDER))
        painter.drawRect(r.adjusted(0, 0, -1, -1))
        painter.setPen(QColor(theme.MUTED))
        font = painter.font()
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.8))
        painter.setFont(font)
        metrics = painter.fontMetrics()
        for db in self.ticks():
            y = round(self.y_of_db(db))
            painter.drawLine(r.right() + 1, y, r.right() + 4, y)
            painter.drawText(r.right() + 6, y + metrics.ascent() // 2 - 1, f"{db:.0f}")
        painter.drawText(QRect(0, r.bottom() + 4, self.width(), 20),
                         Qt.AlignHCenter | Qt.AlignTop, "dB")
        painter.end()
