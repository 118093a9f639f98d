"""The run controls: model and device choice, Separate, and the song's name."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from stemsplit.gui.common.elided import ElidedCombo, ElidedLabel
from stemsplit.gui.run.workers import ModelChoice

RUNNING_TEXT = "Separating…"
IDLE_TIP = "Split the song into stems (Ctrl+Enter)"
RUNNING_TIP = "Separating — Cancel is next to the progress bar below (or press Esc)"
WIENER_TIP = ("Refine the stems with a multichannel Wiener filter (one EM iteration) after the "
              "model. Slower; on the MUSDB18 excerpt it lowered the built-in model's SDR, "
              "so it is off by default (README, Quality).")
DEVICE_LABELS = {"auto": "Auto", "cpu": "CPU", "cuda": "CUDA (GPU)", "mps": "MPS (Apple GPU)"}
PRECISION_LABELS = {"auto": "Auto", "fp32": "FP32", "bf16": "BF16", "fp16": "FP16"}
PRECISION_TIP = ("The network's number format. Auto: bf16 or fp16 where the hardware computes "
                 "it natively (faster, same quality), else fp32.")


class RunPanel(QFrame):
    """Top bar of the window.

    Separate never turns into Cancel: during a run it is disabled and reads
    "Separating…", so a double-click cannot stop the run it just started. Cancel
    lives with the progress in the status bar (and Esc).

    Signals:
        separateClicked(), openClicked(), modelChosen(name), deviceChosen(name),
        precisionChosen(name), wienerToggled(on).
    """

    separateClicked = Signal()
    openClicked = Signal()
    modelChosen = Signal(str)
    deviceChosen = Signal(str)
    precisionChosen = Signal(str)
    wienerToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolbar")
        box = QHBoxLayout(self)
        box.setContentsMargins(10, 8, 10, 8)
        box.setSpacing(8)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a song (Ctrl+O) — or drop a file on the window")
        self.open_button.clicked.connect(self.openClicked)
        box.addWidget(self.open_button)
        self.song = ElidedLabel("No song loaded")
        self.song.setObjectName("title")
        self.song.setMinimumWidth(160)
        box.addWidget(self.song, 1)
        box.addWidget(self._caption("Model"))
        self.model = ElidedCombo()
        # Long titles are elided in the box (the song name needs the room); the popup
        # list is wide enough to read them in full.
        self.model.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.model.setMinimumContentsLength(38)
        self.model.view().setMinimumWidth(420)
        self.model.addItem("Loading models…", "")
        self.model.setEnabled(False)
        self.model.activated.connect(lambda _i: self.modelChosen.emit(self.model.currentData()))
        self.model.currentIndexChanged.connect(self._on_current)
        box.addWidget(self.model)
        box.addWidget(self._caption("Device"))
        self.device = QComboBox()
        self.device.addItem("Auto", "auto")
        self.device.setEnabled(False)
        self.device.activated.connect(
            lambda _i: self.deviceChosen.emit(self.device.currentData()))
        box.addWidget(self.device)
        box.addWidget(self._caption("Precision"))
        self.precision = QComboBox()
        self.precision.setToolTip(PRECISION_TIP)
        for name, label in PRECISION_LABELS.items():
            self.precision.addItem(label, name)
        self.precision.activated.connect(
            lambda _i: self.precisionChosen.emit(self.precision.currentData()))
        box.addWidget(self.precision)
        self.wiener = QCheckBox("Wiener")
        self.wiener.setToolTip(WIENER_TIP)
        self.wiener.toggled.connect(self.wienerToggled)
        box.addWidget(self.wiener)
        self.separate = QPushButton(RUNNING_TEXT)
        self.separate.setObjectName("primary")
        self.separate.setMinimumWidth(self.separate.sizeHint().width())  # no jump when it runs
        self.separate.setText("Separate")
        self.separate.setToolTip(IDLE_TIP)
        self.separate.setEnabled(False)
        self.separate.clicked.connect(self.separateClicked)
        box.addWidget(self.separate)

    @staticmethod
    def _caption(text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName("muted")
        return label

    @staticmethod
    def describe_model(m: ModelChoice) -> str:
        """A model's tooltip; the window puts stems, speed and licence here (models.hints)."""
        return f"{m.title}\n{m.licence}"

    def set_models(self, models: list[ModelChoice], current: str) -> None:
        self.model.clear()
        for m in models:
            title = m.title if m.installed else f"{m.title} (not installed)"
            self.model.addItem(title, m.name)
        self.refresh_tooltips(models)
        self.model.setCurrentIndex(max(self.model.findData(current), 0))
        self.model.setEnabled(bool(models))

    def refresh_tooltips(self, models: list[ModelChoice]) -> None:
        """Each entry's tooltip, and the box's own for the model shown (a run measured it)."""
        for m in models:
            index = self.model.findData(m.name)
            if index >= 0:
                self.model.setItemData(index, self.describe_model(m), Qt.ToolTipRole)
        self._on_current()

    def _on_current(self, *_args) -> None:
        self.model.setToolTip(self.model.currentData(Qt.ToolTipRole) or "")

    def set_devices(self, devices: list[str], current: str) -> None:
        self.device.clear()
        for name in ["auto", *devices]:
            self.device.addItem(DEVICE_LABELS.get(name, name), name)
        index = self.device.findData(current)
        self.device.setCurrentIndex(max(index, 0))
        self.device.setEnabled(True)

    def set_precision(self, name: str) -> None:
        self.precision.setCurrentIndex(max(self.precision.findData(name), 0))

    def set_song_name(self, name: str) -> None:
        self.song.setText(name or "No song loaded")
        self.song.setToolTip(name)

    def set_state(self, can_separate: bool, running: bool) -> None:
        """While a run goes on Separate is disabled and says so."""
        self.separate.setText(RUNNING_TEXT if running else "Separate")
        self.separate.setToolTip(RUNNING_TIP if running else IDLE_TIP)
        self.separate.setEnabled(not running and can_separate)
        self.model.setEnabled(not running and self.model.count() > 0
                              and bool(self.model.currentData()))
        self.device.setEnabled(not running and self.device.count() > 1)
        self.precision.setEnabled(not running)
        self.wiener.setEnabled(not running)
