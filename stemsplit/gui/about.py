"""Help > About: version, model and licence, device."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout

import stemsplit
from stemsplit.gui.common.icon import icon_pixmap
from stemsplit.gui.run.workers import ModelChoice


class AboutDialog(QDialog):
    """A small dialog; built from plain values so it needs no engine import."""

    def __init__(self, model: ModelChoice | None, device: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About stemsplit")
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(icon_pixmap(72))
        top.addWidget(logo, 0, Qt.AlignTop)
        model_text = (f"<b>Model:</b> {model.title}<br><b>Licence:</b> {model.licence}"
                      if model else "<b>Model:</b> (engine still loading)")
        self.text = QLabel(
            f"<h2>stemsplit {stemsplit.__version__}</h2>"
            "<p>A desktop stem splitter for musicians.</p>"
            f"<p>{model_text}<br><b>Device:</b> {device or 'not chosen yet'}</p>")
        self.text.setTextFormat(Qt.RichText)
        self.text.setWordWrap(True)
        self.text.setMinimumWidth(360)
        top.addWidget(self.text, 1)
        layout.addLayout(top)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
