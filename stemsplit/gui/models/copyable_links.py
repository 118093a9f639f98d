"""Web addresses to fetch elsewhere: one read-only line each, never cut, and one Copy button."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

MAX_FIELD_WIDTH = 640  # wider links scroll inside their field


class CopyableLinks(QWidget):
    """A column of selectable links with a button that copies them all (one per line)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields: list[QLineEdit] = []
        self.column = QVBoxLayout()
        self.column.setContentsMargins(0, 0, 0, 0)
        self.copy_button = QPushButton("Copy Link")
        self.copy_button.clicked.connect(self.copy)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addLayout(self.column, 1)
        row.addWidget(self.copy_button, 0, Qt.AlignTop)

    def set_urls(self, urls: list[str]) -> None:
        """Show ``urls`` (none: the widget hides)."""
        for field in self.fields:
            self.column.removeWidget(field)
            field.deleteLater()
        self.fields = []
        for url in urls:
            field = QLineEdit(url)
            field.setReadOnly(True)
            field.setCursorPosition(0)
            self.column.addWidget(field)
            field.ensurePolished()  # measure in the font it is shown in (the dialog's)
            metrics = field.fontMetrics()
            # the frame, margins and padding around the text (sizeHint is 17 x-widths of text)
            chrome = field.sizeHint().width() - 17 * metrics.horizontalAdvance("x")
            field.setMinimumWidth(  # the whole link in view where the screen allows
                min(metrics.horizontalAdvance(url) + chrome + 4, MAX_FIELD_WIDTH))
            self.fields.append(field)
        self.reset_button()
        self.setVisible(bool(urls))

    def urls(self) -> list[str]:
        return [field.text() for field in self.fields]

    def reset_button(self) -> None:
        self.copy_button.setText("Copy Links" if len(self.fields) > 1 else "Copy Link")

    def copy(self) -> None:
        QApplication.clipboard().setText("\n".join(self.urls()))
        self.copy_button.setText("Copied")
