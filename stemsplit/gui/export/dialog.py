"""Export dialog (Ctrl+E): stems, format, bit depth, rate, folder, name pattern, what you hear.

The dialog only gathers choices and shows progress; every decision about
audio (names, rates, peaks, atomic writing) is made by ``stemsplit.core.audio.export``
on a worker thread. Choices are remembered under ``export.*`` settings keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stemsplit.core.audio.export import (
    DEFAULT_PATTERN,
    existing,
    normalise_factor,
    peak_of,
    what_you_hear,
)
from stemsplit.core.audio.write import OutputFormat
from stemsplit.core.errors import StemsplitError
from stemsplit.core.stems import StemSet
from stemsplit.gui.common import folders
from stemsplit.gui.common.names import display_name
from stemsplit.gui.export.job import ExportJob, ExportThread
from stemsplit.gui.export.result import ExportResultDialog
from stemsplit.settings import Settings

FORMATS = [("wav", "WAV"), ("flac", "FLAC"), ("aiff", "AIFF")]
DEPTHS = [("16", "16-bit (TPDF dither)"), ("24", "24-bit"), ("32f", "32-bit float")]
RATES = [(0, "Original"), (44100, "44.1 kHz"), (48000, "48 kHz")]
SCAN_HERE_SAMPLES = 1 << 23  # ~95 s of two stereo stems: scanned in a few ms


class PeakThread(QThread):
    """The stems' peak, found off the GUI thread (numpy's max releases the GIL)."""

    found = Signal(float)

    def __init__(self, stems, parent=None) -> None:
        super().__init__(parent)
        self.stems = stems

        self.peak: float | None = None

    def run(self) -> None:
        self.peak = peak_of(self.stems)
        self.found.emit(self.peak)


class ExportDialog(QDialog):
    """Choose what and how to export, then export with progress and cancel.

    Args:
        stemset: the separated song.
        song: the song's name, used for ``<song>`` in file names.
        settings: where choices are remembered (``export.*`` keys).
        mix_gains: the mixer's effective linear gains per stem (mute and solo
            applied), enabling "export what you hear"; None hides that option.
        mix_soloed: the stems soloed in the mixer (names that file "vocals (solo)").
    """

    finished_export = Signal(list)  # paths written

    def __init__(self, stemset: StemSet, song: str, settings: Settings,
                 mix_gains: Sequence[float] | None = None, parent: QWidget | None = None,
                 mix_soloed: Sequence[str] = ()) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export stems")
        self.stemset, self.song, self.settings = stemset, song, settings
        self.mix_gains = None if mix_gains is None else [float(g) for g in mix_gains]
        self.mix_name, self.mix_contents = (
            what_you_hear(stemset.names, self.mix_gains, tuple(mix_soloed))
            if self.mix_gains is not None else ("", ""))
        self.thread: ExportThread | None = None
        self.written: list[Path] = []
        self._build()
        self._restore()
        self._update()

    # -- layout ---------------------------------------------------------------------

    def _build(self) -> None:
        stems_box = QGroupBox("Stems")
        stems_layout = QVBoxLayout(stems_box)
        self.stem_checks: dict[str, QCheckBox] = {}
        for name in self.stemset.names:
            box = QCheckBox(display_name(name))
            box.setChecked(True)
            box.toggled.connect(self._update)
            stems_layout.addWidget(box)
            self.stem_checks[name] = box
        self.mix_check = QCheckBox(f"Also export what you hear as one file: "
                                   f"{self.mix_contents}")
        self.mix_check.setToolTip("The mixer as it is now (solo, mute and gain), in one file")
        self.mix_check.toggled.connect(self._update)
        self.mix_check.setVisible(self.mix_gains is not None)
        stems_layout.addWidget(self.mix_check)

        self.format_combo = _combo(FORMATS)
        self.depth_combo = _combo(DEPTHS)
        self.rate_combo = _combo([(v, f"Original ({self.stemset.sample_rate} Hz)" if v == 0
                                   else t) for v, t in RATES])
        self.folder_edit = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        self.pattern_edit = QLineEdit()
        self.pattern_edit.setToolTip("Fields: <song> <stem> <model> <n> <rate> <bits>")
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        for w in (self.format_combo, self.depth_combo, self.rate_combo):
            w.currentIndexChanged.connect(self._update)
        for w in (self.folder_edit, self.pattern_edit):
            w.textChanged.connect(self._update)

        form = QFormLayout()
        form.addRow("Format", self.format_combo)
        form.addRow("Bit depth", self.depth_combo)
        form.addRow("Sample rate", self.rate_combo)
        form.addRow("Folder", folder_row)
        form.addRow("File names", self.pattern_edit)
        form.addRow("Preview", self.preview)

        # Peaks are kept by default: stems at unity gain sum to the mix in a DAW. Above
        # full scale the dialog says what the chosen format will do before writing.
        # A long song's peak scan takes a few hundred ms: it runs in a thread (the dialog
        # opens at once and the peak note appears when known); short songs scan here.
        self.peak = 0.0
        self.peak_thread: PeakThread | None = None
        if sum(np.size(a) for a in self.stemset.stems.values()) <= SCAN_HERE_SAMPLES:
            self.peak = peak_of(self.stemset.stems)
        else:
            self.peak_thread = PeakThread(self.stemset.stems, self)
            self.peak_thread.found.connect(self._on_peak)
            self.peak_thread.start()
        self.peak_label = QLabel()
        self.peak_label.setWordWrap(True)
        self.float_button = QPushButton("Keep Peaks (32-bit Float)")
        self.float_button.setToolTip("Float files hold peaks above full scale; DAWs read them")
        self.float_button.clicked.connect(self._use_float)
        peak_row = QHBoxLayout()
        peak_row.addWidget(self.peak_label, 1)
        peak_row.addWidget(self.float_button)
        self.normalise_check = QCheckBox("Normalise all stems by the same factor")
        self.normalise_check.setChecked(False)
        self.normalise_check.toggled.connect(self._update)
        self.result_box: ExportResultDialog | None = None

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.Cancel)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self._cancel)

        layout = QVBoxLayout(self)
        layout.addWidget(stems_box)
        layout.addLayout(form)
        layout.addLayout(peak_row)
        layout.addWidget(self.normalise_check)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

    # -- remembered choices -----------------------------------------------------------

    def _restore(self) -> None:
        s = self.settings
        _select(self.format_combo, s.get("export.format", "wav"))
        _select(self.depth_combo, s.get("export.bit_depth", "24"))
        self._prefer_float()
        _select(self.rate_combo, s.get("export.rate", 0))
        # The last export folder, else the song's (never inside the installation), else Music.
        self.folder_edit.setText(str(folders.suggest("export", s, self.stemset.meta.get("path"))))
        self.pattern_edit.setText(str(s.get("export.pattern", DEFAULT_PATTERN)))
        unchecked = set(s.get("export.unchecked_stems", []))
        for name, box in self.stem_checks.items():
            box.setChecked(name not in unchecked)
        self.mix_check.setChecked(bool(s.get("export.mix", False)) and self.mix_gains is not None)

    def _on_peak(self, peak: float) -> None:
        if self.peak_thread is None:
            return  # already taken (an export started before the signal arrived)
        self.peak, self.peak_thread = peak, None
        self._prefer_float()
        self._update()

    def _prefer_float(self) -> None:
        if self.peak > 1.0 and self.settings.get("export.bit_depth", None) is None:
            # A first export of a song that goes above full scale (an MP3 decode often
            # does): float keeps every peak, which is what the user wants.
            _select(self.depth_combo, "32f")
            if self.format_combo.currentData() == "flac":
                _select(self.format_combo, "wav")

    def _remember(self) -> None:
        self.settings.update({
            "export.format": self.format_combo.currentData(),
            "export.bit_depth": self.depth_combo.currentData(),
            "export.rate": self.rate_combo.currentData(),
            "export.folder": self.folder_edit.text().strip(),
            "export.pattern": self.pattern_edit.text(),
            "export.unchecked_stems": [n for n, b in self.stem_checks.items()
                                       if not b.isChecked()],
            "export.mix": self.mix_check.isChecked(),
        })

    # -- state ------------------------------------------------------------------------

    def output_format(self) -> OutputFormat:
        return OutputFormat(self.format_combo.currentData(), self.depth_combo.currentData())

    def chosen_stems(self) -> list[str]:
        return [n for n, b in self.stem_checks.items() if b.isChecked()]

    def job(self, overwrite: bool = False) -> ExportJob:
        """The export the current choices describe (raises StemsplitError if invalid)."""
        folder = self.folder_edit.text().strip()
        if not folder:
            raise StemsplitError("choose a folder to export to")
        want_mix = self.mix_check.isChecked() and self.mix_gains is not None
        if not self.chosen_stems() and not want_mix:
            raise StemsplitError("choose at least one stem")
        return ExportJob(
            self.stemset, self.song, Path(folder).expanduser(), self.pattern_edit.text(),
            self.output_format(), self.rate_combo.currentData() or None, self.chosen_stems(),
            "normalise" if self.normalise_check.isChecked() else "clip", overwrite,
            self.mix_gains if want_mix else None, self.mix_name or "mix")

    def _update(self) -> None:
        # FLAC stores integers only: offer float only where it exists.
        flac = self.format_combo.currentData() == "flac"
        item = self.depth_combo.model().item(self.depth_combo.findData("32f"))
        item.setEnabled(not flac)
        if flac and self.depth_combo.currentData() == "32f":
            _select(self.depth_combo, "24")
        try:
            names = [p.name for p in self.job().paths()]
            self.preview.setText("\n".join(names))
            self.preview.setStyleSheet("")
            ok = True
        except StemsplitError as exc:
            self.preview.setText(str(exc))
            self.preview.setStyleSheet("color: #d04040;")
            ok = False
        busy = self.thread is not None
        self.export_button.setEnabled(ok and not busy)
        self._update_peaks()
        self._fit()

    def _fit(self) -> None:
        """Grow to what the wrapped lines need at this width: a peak note that appears or
        lengthens after the dialog opened must not squeeze the preview's lines away."""
        layout = self.layout()
        layout.activate()
        width = max(self.width(), layout.totalMinimumSize().width())
        need = max(layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else 0,
                   layout.totalMinimumSize().height())
        if need > self.height() or width > self.width():
            self.resize(width, max(need, self.height()))

    def will_clip(self) -> bool:
        """Peaks above full scale, an integer format and no normalising: files would clip."""
        return (self.peak > 1.0 and self.depth_combo.currentData() != "32f"
                and not self.normalise_check.isChecked())

    def _update_peaks(self) -> None:
        over = self.peak > 1.0
        for w in (self.peak_label, self.normalise_check):
            w.setVisible(over)
        self.float_button.setVisible(over and self.depth_combo.currentData() != "32f")
        if over:
            self.peak_label.setText(peak_advice(self.peak, self.depth_combo.currentData(),
                                                self.normalise_check.isChecked()))
            # Said calmly (amber, not red): a few overs are common and have a remedy here.
            self.peak_label.setStyleSheet("color: #e0a040;" if self.will_clip() else "")

    def _use_float(self) -> None:
        if self.format_combo.currentData() == "flac":  # FLAC holds integers only
            _select(self.format_combo, "wav")
        _select(self.depth_combo, "32f")
        self.normalise_check.setChecked(False)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder",
                                                  self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    # -- running ----------------------------------------------------------------------

    def start_export(self) -> None:
        """Check, ask before overwriting, then export on a worker thread."""
        if self.thread is not None:
            return
        self._wait_for_peak()
        try:
            job = self.job()
            found = existing(job.paths())
        except StemsplitError as exc:
            self._show_error(str(exc))
            return
        if found:
            if not self.ask_overwrite(found):
                self._say("Nothing exported: the existing files were kept.")
                return
            job.overwrite = True
        self._remember()
        self._say("Exporting…")
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.thread = ExportThread(job, self)
        self.thread.progressed.connect(self._on_progress)
        self.thread.done.connect(self._on_done)
        self.thread.failed.connect(self._show_error)
        self.thread.cancelled.connect(self._on_cancelled)
        self.thread.finished.connect(self._on_thread_finished)
        self._update()
        self.thread.start()

    def ask_overwrite(self, paths: list[Path]) -> bool:
        """A real question box; only an explicit "Replace" allows overwriting."""
        box = QMessageBox(QMessageBox.Warning, "Replace files?",
                          f"{len(paths)} file(s) already exist in {paths[0].parent}:",
                          parent=self)
        box.setInformativeText("\n".join(p.name for p in paths[:8])
                               + ("\n…" if len(paths) > 8 else ""))
        replace = box.addButton("Replace", QMessageBox.DestructiveRole)
        box.addButton("Keep existing files", QMessageBox.RejectRole)
        box.setObjectName("overwrite_question")
        box.exec()
        return box.clickedButton() is replace

    def _cancel(self) -> None:
        if self.thread is not None:
            self.thread.job.cancel.set()
            self._say("Cancelling…")
        else:
            self.reject()

    def _on_progress(self, fraction: float, name: str) -> None:
        self.progress.setValue(int(round(1000 * fraction)))
        if name:
            self._say(f"Writing {name}…")

    def _on_done(self, paths: list) -> None:
        self.written = [Path(p) for p in paths]
        self._say(f"Exported {len(paths)} file(s) to {self.folder_edit.text()}")
        self.finished_export.emit(self.written)

    def _show_error(self, message: str) -> None:
        self._say(f"⚠ {message}", error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #d04040;" if error else "")

    def _on_cancelled(self) -> None:
        self._say("Export cancelled; no files were written.")

    def _on_thread_finished(self) -> None:
        self.thread = None
        self.progress.setVisible(bool(self.written))
        self._update()
        if self.written:
            self.accept()
            note = "⚠ Peaks above full scale were clipped." if self.will_clip() else ""
            self.result_box = ExportResultDialog(self.written, note, self.parentWidget())
            self.result_box.show()

    def _wait_for_peak(self) -> None:
        """The peak is needed now (to export, or before the dialog goes): wait for it."""
        if self.peak_thread is not None:
            self.peak_thread.wait()
            self._on_peak(self.peak_thread.peak or 0.0)

    def reject(self) -> None:
        self._wait_for_peak()
        if self.thread is not None:  # Escape or the close button cancels, then closes
            self._cancel()
            self.thread.wait()
        super().reject()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self._wait_for_peak()
        if self.thread is not None:  # never leave a writer running behind a closed dialog
            self.thread.job.cancel.set()
            self.thread.wait()
        super().closeEvent(event)


def peak_advice(peak: float, depth: str, normalise: bool) -> str:
    """What happens to peaks above full scale with this bit depth and choice."""
    level = f"Peaks reach {20 * np.log10(peak):+.1f} dBFS, above full scale"
    down = f"{-20 * np.log10(normalise_factor(peak)):.1f} dB"
    if normalise:
        return (f"{level}: every stem is lowered by {down} (one factor for all, so they "
                "keep their balance and sum to an equally quieter mix).")
    if depth == "32f":
        return f"{level}; 32-bit float keeps them, and the stems sum exactly to the mix."
    return (f"{level} (common for MP3s and loud masters). {depth}-bit files will clip them "
            "slightly, so the stems no longer sum exactly to the mix there; 32-bit float "
            f"keeps them, or normalise (every stem {down} quieter).")


def _combo(items: list[tuple[object, str]]) -> QComboBox:
    combo = QComboBox()
    for value, text in items:
        combo.addItem(text, value)
    return combo


def _select(combo: QComboBox, value: object) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)
