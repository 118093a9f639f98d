"""Status bar widgets: progress with time left, the device in use, and Cancel."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from stemsplit.gui.spectrogram.axes import format_time


class ProgressStatus(QWidget):
    """Shown in the status bar while a run is going.

    Signals:
        cancelClicked()
    """

    cancelClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = QHBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(8)
        self.label = QLabel("")
        box.addWidget(self.label)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(220)
        self.bar.setTextVisible(False)
        box.addWidget(self.bar)
        self.eta = QLabel("")
        self.eta.setObjectName("muted")
        self.eta.setMinimumWidth(110)
        box.addWidget(self.eta)
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop the separation (Esc)")
        self.cancel.clicked.connect(self.cancelClicked)
        box.addWidget(self.cancel)
        self.device = QLabel("")
        self.device.setObjectName("muted")
        box.addWidget(self.device)
        self.hide()

    def start(self, text: str) -> None:
        self.label.setText(text)
        self.bar.setValue(0)
        self.bar.setRange(0, 0)  # busy until the first chunk reports
        self.eta.setText("starting…")
        self.cancel.setEnabled(True)
        self.show()

    def update_progress(self, fraction: float, eta_s: float, device: str) -> None:
        self.bar.setRange(0, 1000)
        self.bar.setValue(round(1000 * fraction))
        self.eta.setText("estimating…" if eta_s < 0 else f"{format_time(eta_s)} left")
        self.set_device(device)

    def set_device(self, device: str) -> None:
        self.device.setText(f"Device: {device.upper()}" if device else "")

    def stop(self) -> None:
        self.hide()
