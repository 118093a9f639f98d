"""Widgets that end their text in "…" when narrower than it, instead of cutting it off.

Qt's QLabel and QComboBox clip a text that does not fit mid-letter; at 1024x640 the
top bar's song name and model title did. Both keep the full text for the tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QWidget,
)


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when it is narrower than its text (never cut off).

    The middle is elided, so a song's extension stays readable; the tooltip has it all.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.full_text = text

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self.full_text = text
        super().setText(text)
        self._elide()

    def shown_text(self) -> str:
        return self.fontMetrics().elidedText(self.full_text, Qt.ElideMiddle,
                                             self.contentsRect().width())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self.full_text) + margins.left() \
            + margins.right()
        return QSize(width, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.minimumWidth(), super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.FontChange:  # the theme's title font arrives late
            self._elide()

    def _elide(self) -> None:
        shown = self.shown_text()
        if shown != super().text():
            super().setText(shown)


class ElidedCombo(QComboBox):
    """A combo box whose shown entry ends in "…" when the box is narrower than it
    (Qt's own cuts the text off mid-letter); the popup list shows entries in full."""

    def edit_rect(self) -> QRect:
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        return self.style().subControlRect(QStyle.CC_ComboBox, opt,
                                           QStyle.SC_ComboBoxEditField, self)

    def shown_text(self) -> str:
        return self.fontMetrics().elidedText(self.currentText(), Qt.ElideRight,
                                             self.edit_rect().width())

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt's name
        painter = QStylePainter(self)
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        painter.drawComplexControl(QStyle.CC_ComboBox, opt)
        opt.currentText = self.shown_text()
        painter.drawControl(QStyle.CE_ComboBoxLabel, opt)
