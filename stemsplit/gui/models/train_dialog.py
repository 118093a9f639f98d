"""Train a model…: fine-tune a U-Net on the user's own stems, in the background."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from stemsplit.gui.run.train_worker import TrainThread

# window lengths offered (STFT frames, a multiple of 64) -> what the user reads
WINDOWS = {64: "1.5 s", 128: "3 s", 256: "6 s", 512: "11.9 s (Spleeter's own)"}
HELP = ("Pick a folder of tracks with their stems: MUSDB18 <i>.stem.mp4</i> files, "
        "MUSDB18-HQ folders, or one folder per song holding a <i>mix</i> and one file per "
        "stem (<i>vocals.wav</i>, <i>accompaniment.wav</i>, …). The model starts from the "
        "one you choose and is kept at its best validation SDR.")


def _fmt_time(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "--:--"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"


class TrainDialog(QDialog):
    """Collects a training request, runs it on a ``TrainThread`` and shows its progress.

    Signals:
        modelTrained(str): a model was installed under this name.
    """

    modelTrained = Signal(str)

    def __init__(self, bases: list[tuple[str, str]], start_folder: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a Model")
        self.worker: TrainThread | None = None
        self.help = QLabel(HELP)
        self.help.setWordWrap(True)
        self.folder = QLineEdit(str(start_folder))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. my-band-vocals")
        self.base = QComboBox()
        for name, title in bases:
            self.base.addItem(title, name)
        self.base.addItem("Nothing (train from scratch)", "scratch")
        self.stems = QLineEdit()
        self.stems.setPlaceholderText("the base model's stems")
        self.steps = QSpinBox()
        self.steps.setRange(1, 1_000_000)
        self.steps.setValue(2000)
        self.window_len = QComboBox()
        for frames, label in WINDOWS.items():
            self.window_len.addItem(label, frames)
        self.window_len.setCurrentIndex(len(WINDOWS) - 1)
        self.valid = QDoubleSpinBox()
        self.valid.setRange(0.0, 0.9)
        self.valid.setSingleStep(0.05)
        self.valid.setValue(0.2)
        self.valid.setToolTip("Fraction of the tracks held out to measure the model (0: none)")
        self.freeze = QCheckBox("Train only the decoder (for a handful of tracks)")
        form = QFormLayout()
        form.addRow("Tracks:", row)
        form.addRow("New model's name:", self.name)
        form.addRow("Start from:", self.base)
        form.addRow("Stems:", self.stems)
        form.addRow("Steps:", self.steps)
        form.addRow("Window:", self.window_len)
        form.addRow("Held out:", self.valid)
        form.addRow("", self.freeze)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.start = self.buttons.addButton("Start Training", QDialogButtonBox.AcceptRole)
        self.stop = self.buttons.addButton("Stop", QDialogButtonBox.ActionRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.Close)
        self.stop.hide()
        self.start.clicked.connect(self.begin)
        self.stop.clicked.connect(self.request_stop)
        self.close_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.help)
        layout.addLayout(form)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.resize(620, self.sizeHint().height())

    # -- the request -----------------------------------------------------------------------

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of tracks with stems",
                                                  self.folder.text())
        if folder:
            self.folder.setText(folder)

    def request(self):
        from stemsplit.core.training.setup import TrainRequest

        stems = tuple(s.strip() for s in self.stems.text().split(",") if s.strip()) or None
        return TrainRequest(data=(Path(self.folder.text().strip()),),
                            name=self.name.text().strip(), base=self.base.currentData(),
                            stems=stems, valid=float(self.valid.value()),
                            steps=self.steps.value(), frames=self.window_len.currentData(),
                            freeze_encoder=self.freeze.isChecked())

    def begin(self) -> None:
        if self.worker is not None:
            return
        if not self.name.text().strip():
            self.status.setText("Give the new model a name.")
            return
        self.worker = TrainThread(self.request(), self)
        self.worker.started_run.connect(self.status.setText)
        self.worker.progress.connect(self._on_progress)
        self.worker.succeeded.connect(self._on_succeeded)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)
        self.worker.finished.connect(self._on_finished)
        self._set_running(True)
        self.status.setText("Reading the tracks…")
        self.worker.start()

    def request_stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel.set()
            self.stop.setEnabled(False)
            self.status.setText("Stopping after this step and saving a checkpoint…")

    # -- progress --------------------------------------------------------------------------

    def _set_running(self, running: bool) -> None:
        for w in (self.folder, self.name, self.base, self.stems, self.steps, self.window_len,
                  self.valid, self.freeze, self.start):
            w.setEnabled(not running)
        self.stop.setVisible(running)
        self.stop.setEnabled(running)
        self.bar.setVisible(running or self.bar.value() > 0)

    def _on_progress(self, p) -> None:
        self.bar.setValue(int(1000 * p.step / max(1, p.steps)))
        if p.valid_sdr is not None:
            sdr = ", ".join(f"{k} {v:.2f} dB" for k, v in p.valid_sdr.items())
            best = " — best so far, saved" if p.best else ""
            self.last_validation = f"validation SDR at step {p.step}: {sdr}{best}"
        text = f"Step {p.step} of {p.steps}"
        if p.loss == p.loss:  # not NaN (step 0 is only measured)
            text += f", loss {p.loss:.4f}, time left {_fmt_time(p.eta_s)}"
        extra = getattr(self, "last_validation", "")
        self.status.setText(text + (f"\n{extra}" if extra else ""))

    def _on_succeeded(self, name: str) -> None:
        extra = getattr(self, "last_validation", "")
        self.status.setText(f"Installed {name}: choose it in the model box to separate with "
                            f"it.{chr(10) + extra if extra else ''}")
        self.modelTrained.emit(name)

    def _on_failed(self, message: str) -> None:
        self.status.setText(message)

    def _on_cancelled(self) -> None:
        self.status.setText("Stopped. The best model so far is installed; "
                            "'stemsplit train … --resume' continues the run.")

    def _on_finished(self) -> None:
        self.worker = None
        self._set_running(False)

    def reject(self) -> None:
        """Closing while training asks the run to stop; the dialog closes once it has
        saved its checkpoint (never blocking the window meanwhile)."""
        if self.worker is not None:
            self.request_stop()
            self.worker.finished.connect(super().reject)
            return
        super().reject()


def open_for(window) -> TrainDialog:
    """Show the dialog for ``window`` (a MainWindow): its installed U-Net models as bases;
    a trained model shows up in the model box at once."""
    bases = [(m.name, m.title) for m in window.session.models
             if m.installed and m.family == "spleeter"]
    audio = window.session.audio
    start = Path(audio.path).parent.parent if audio is not None and audio.path else Path.home()
    dialog = TrainDialog(bases, start, window)
    dialog.modelTrained.connect(lambda _name: window.session.refresh_models())
    dialog.show()
    return dialog
