"""The export dialog (real offscreen Qt) and dragging a stem out as a file URL."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QTimer, QUrl
from PySide6.QtWidgets import QApplication, QMessageBox

from stemsplit.core.audio.resampling import resampled_length
from stemsplit.core.audio.write import OutputFormat, write_audio
from stemsplit.core.stems import StemSet
from stemsplit.gui.export.dialog import ExportDialog
from stemsplit.gui.export.drag_out import make_stem_drag, start_stem_drag, stem_drag_file
from stemsplit.gui.export.job import ExportJob, ExportThread
from stemsplit.settings import Settings

SR = 44100


def stems(n: int = 20_000, loud: bool = False) -> StemSet:
    rng = np.random.default_rng(7)
    v = (0.2 * rng.standard_normal((2, n))).astype(np.float32)
    a = (0.2 * rng.standard_normal((2, n))).astype(np.float32)
    if loud:
        a[:, 100] = 1.6
    return StemSet(SR, {"vocals": v, "accompaniment": a}, model="2stems")


def read(path: Path) -> np.ndarray:
    return sf.read(path, dtype="float32", always_2d=True)[0].T


@pytest.fixture
def settings(tmp_path_factory) -> Settings:
    return Settings(tmp_path_factory.mktemp("config") / "settings.json")


def open_dialog(qtbot, stemset, settings, folder, **kw) -> ExportDialog:
    dialog = ExportDialog(stemset, "My Song", settings, **kw)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.folder_edit.setText(str(folder))
    return dialog


def run_export(qtbot, dialog: ExportDialog) -> None:
    with qtbot.waitSignal(dialog.finished_export, timeout=60_000):
        dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.thread is None, timeout=10_000)


def answer_next_question(qtbot, button_text: str, seen: list[str]) -> None:
    """Click a button of the modal box that is about to open (a real QMessageBox)."""
    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        for b in box.buttons():
            if b.text() == button_text:
                b.click()
                return
    QTimer.singleShot(0, click)


def test_defaults_preview_and_flac_has_no_float(qtbot, settings, tmp_path):
    dialog = open_dialog(qtbot, stems(), settings, tmp_path)
    assert all(b.isChecked() for b in dialog.stem_checks.values())
    assert dialog.output_format() == OutputFormat("wav", "24")
    assert dialog.rate_combo.currentData() == 0
    assert dialog.preview.text().splitlines() == ["My Song - vocals.wav",
                                                  "My Song - accompaniment.wav"]
    assert not dialog.mix_check.isVisibleTo(dialog)  # no mixer given: no "what you hear"
    dialog.depth_combo.setCurrentIndex(dialog.depth_combo.findData("32f"))
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("flac"))
    assert dialog.output_format() == OutputFormat("flac", "24")
    assert dialog.preview.text().endswith("accompaniment.flac")


def test_bad_pattern_or_no_stems_disable_export(qtbot, settings, tmp_path):
    dialog = open_dialog(qtbot, stems(), settings, tmp_path)
    dialog.pattern_edit.setText("<song> - <artist>")
    assert "unknown field <artist>" in dialog.preview.text()
    assert not dialog.export_button.isEnabled()
    dialog.pattern_edit.setText("<song>")
    assert "same name" in dialog.preview.text()
    dialog.pattern_edit.setText("<stem>")
    assert dialog.export_button.isEnabled()
    for box in dialog.stem_checks.values():
        box.setChecked(False)
    assert not dialog.export_button.isEnabled()


def test_export_writes_files_with_progress_and_remembers_choices(qtbot, settings, tmp_path):
    data = stems()
    dialog = open_dialog(qtbot, data, settings, tmp_path / "out")
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("flac"))
    dialog.depth_combo.setCurrentIndex(dialog.depth_combo.findData("16"))
    dialog.rate_combo.setCurrentIndex(dialog.rate_combo.findData(48000))
    dialog.pattern_edit.setText("<n> <stem>")
    dialog.stem_checks["vocals"].setChecked(False)
    run_export(qtbot, dialog)
    assert dialog.progress.value() == 1000
    assert sorted(os.listdir(tmp_path / "out")) == ["2 accompaniment.flac"]
    info = sf.info(tmp_path / "out" / "2 accompaniment.flac")
    assert (info.samplerate, info.subtype) == (48000, "PCM_16")
    assert info.frames == resampled_length(data.length, SR, 48000)
    assert dialog.result() == ExportDialog.Accepted

    again = open_dialog(qtbot, data, Settings(settings.path), tmp_path / "elsewhere")
    assert again.output_format() == OutputFormat("flac", "16")
    assert again.rate_combo.currentData() == 48000
    assert again.pattern_edit.text() == "<n> <stem>"
    assert not again.stem_checks["vocals"].isChecked()
    fresh = ExportDialog(data, "x", Settings(settings.path))
    qtbot.addWidget(fresh)
    assert fresh.folder_edit.text() == str(tmp_path / "out")


def test_existing_files_are_replaced_only_after_yes(qtbot, settings, tmp_path):
    target = tmp_path / "My Song - vocals.wav"
    target.write_bytes(b"precious")
    dialog = open_dialog(qtbot, stems(), settings, tmp_path)
    seen: list[str] = []
    answer_next_question(qtbot, "Keep existing files", seen)
    dialog.export_button.click()
    assert seen and "already exist" in seen[0]
    assert dialog.thread is None
    assert target.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == [target.name]

    answer_next_question(qtbot, "Replace", seen)
    run_export(qtbot, dialog)
    assert len(seen) == 2
    assert read(target).shape == (2, 20_000)
    assert (tmp_path / "My Song - accompaniment.wav").is_file()


def test_peak_warning_offers_one_common_factor(qtbot, settings, tmp_path):
    data = stems(loud=True)
    dialog = open_dialog(qtbot, data, settings, tmp_path)
    assert dialog.peak_label.isVisibleTo(dialog)
    assert "+4.1 dBFS" in dialog.peak_label.text()
    assert not dialog.normalise_check.isChecked()  # peaks are kept unless asked
    dialog.normalise_check.setChecked(True)
    run_export(qtbot, dialog)
    vocals = read(tmp_path / "My Song - vocals.wav")
    acc = read(tmp_path / "My Song - accompaniment.wav")
    factor = acc[0, 100] / 1.6
    assert factor == pytest.approx(10 ** (-0.1 / 20) / 1.6, rel=1e-4)
    # The quiet stem got the loud stem's factor: balance kept.
    assert np.allclose(vocals, factor * data.stems["vocals"], atol=2.0 ** -22)


def test_peak_warning_absent_when_in_range(qtbot, settings, tmp_path):
    dialog = open_dialog(qtbot, stems(), settings, tmp_path)
    assert not dialog.peak_label.isVisibleTo(dialog)
    assert dialog.job().peaks == "clip"


def test_export_what_you_hear_equals_the_mixer(qtbot, settings, tmp_path):
    from stemsplit.playback.mixer import MixSettings

    data = stems()
    karaoke = MixSettings((0.0, -6.0), (False, False), (True, False))  # vocals muted
    dialog = open_dialog(qtbot, data, settings, tmp_path / "out", mix_gains=karaoke.gains)
    assert dialog.mix_check.isVisibleTo(dialog)
    dialog.mix_check.setChecked(True)
    dialog.depth_combo.setCurrentIndex(dialog.depth_combo.findData("32f"))
    for box in dialog.stem_checks.values():
        box.setChecked(False)
    # Named by what it holds, and the dialog says so (issue 20.8).
    assert "everything but vocals" in dialog.mix_check.text()
    assert dialog.preview.text() == "My Song - without vocals.wav"
    run_export(qtbot, dialog)
    mix = read(tmp_path / "out" / "My Song - without vocals.wav")
    assert np.array_equal(mix, data.stems["accompaniment"] * np.float32(karaoke.gains[1]))


def test_errors_are_shown_and_leave_nothing(qtbot, settings, tmp_path):
    blocker = tmp_path / "not a folder"
    blocker.write_bytes(b"")
    dialog = open_dialog(qtbot, stems(), settings, blocker / "sub")
    dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.thread is None, timeout=30_000)
    assert "⚠" in dialog.status.text()
    assert dialog.isVisible()  # the dialog stays open to fix the choice
    assert sorted(os.listdir(tmp_path)) == [blocker.name]


def test_cancelled_worker_writes_nothing(qtbot, tmp_path):
    job = ExportJob(stems(), "s", tmp_path, "<stem>", OutputFormat(), None,
                    ["vocals", "accompaniment"], "clip", False)
    job.cancel.set()
    thread = ExportThread(job)
    with qtbot.waitSignal(thread.cancelled, timeout=30_000):
        thread.start()
    thread.wait()
    assert os.listdir(tmp_path) == []


def test_cancel_button_stops_the_export_all_or_nothing(qtbot, settings, tmp_path):
    data = stems(SR * 60)
    dialog = open_dialog(qtbot, data, settings, tmp_path / "out")
    dialog.rate_combo.setCurrentIndex(dialog.rate_combo.findData(48000))
    dialog.export_button.click()
    assert dialog.thread is not None
    job = dialog.thread.job
    dialog.cancel_button.click()
    assert job.cancel.is_set()
    qtbot.waitUntil(lambda: dialog.thread is None, timeout=60_000)
    # Whatever the race, never a partial set and never a temporary file.
    assert len(os.listdir(tmp_path / "out")) in (0, 2)


# --- dragging a stem out -----------------------------------------------------

def test_stem_drag_file_renders_an_aligned_wav_once(tmp_path):
    data = stems()
    path = stem_drag_file(data, "vocals", "My Song", folder=tmp_path)
    assert path.name == "My Song - vocals.wav"
    info = sf.info(path)
    assert (info.samplerate, info.frames, info.subtype) == (SR, 20_000, "PCM_24")
    assert np.abs(read(path) - data.stems["vocals"]).max() <= 2.0 ** -23
    mtime = path.stat().st_mtime_ns
    assert stem_drag_file(data, "vocals", "My Song", folder=tmp_path) == path
    assert path.stat().st_mtime_ns == mtime  # reused, not rendered again
    loud = stem_drag_file(stems(loud=True), "accompaniment", "My Song", folder=tmp_path)
    assert sf.info(loud).subtype == "FLOAT"  # never clips


def test_drag_carries_the_file_url(qtbot, tmp_path):
    from PySide6.QtWidgets import QLabel

    data = stems()
    strip = QLabel("vocals")
    qtbot.addWidget(strip)
    strip.show()
    drag = make_stem_drag(strip, data, "vocals", "My Song")
    urls = drag.mimeData().urls()
    assert len(urls) == 1 and urls[0].isLocalFile()
    path = Path(urls[0].toLocalFile())
    assert path.name == "My Song - vocals.wav" and sf.info(path).frames == 20_000
    assert urls[0] == QUrl.fromLocalFile(str(path))

    exported = write_audio(tmp_path / "done.wav", data.stems["vocals"], SR)
    drag = make_stem_drag(strip, data, "vocals", "My Song", {"vocals": exported})
    assert drag.mimeData().urls() == [QUrl.fromLocalFile(str(exported))]
    # Offscreen Qt ends the drag loop at once; the drag must still start cleanly.
    started = start_stem_drag(strip, data, "accompaniment", "My Song")
    assert started is not None


def test_what_you_hear_is_named_by_what_it_holds():
    from stemsplit.core.audio.export import what_you_hear

    names = ["vocals", "drums", "bass", "other"]
    assert what_you_hear(names, [1, 1, 1, 1]) == ("mix", "the whole mix")
    assert what_you_hear(names, [1, 0.5, 1, 1])[0] == "mix (mixer levels)"
    assert what_you_hear(names, [1, 0, 0, 0], ["vocals"]) == ("vocals (solo)", "vocals alone")
    assert what_you_hear(names, [0, 1, 1, 1])[0] == "without vocals"
    assert what_you_hear(names, [1, 1, 0, 0], ["vocals", "drums"])[0] == "vocals + drums (solo)"
    assert what_you_hear(names, [0, 0, 1, 1])[0] == "without vocals and drums"
    assert what_you_hear(names, [0, 0, 0, 0])[0] == "silence"


def test_a_long_songs_peak_is_scanned_off_the_gui_thread(qtbot, settings, tmp_path):
    """The dialog opens without scanning ~3 minutes of stems first (issue 20.7); once
    the peak is known it pre-selects 32-bit float for a song above full scale."""
    from stemsplit.gui.export.dialog import SCAN_HERE_SAMPLES

    n = SCAN_HERE_SAMPLES // 2
    quiet = np.full((2, n), 0.25, np.float32)
    loud = quiet.copy()
    loud[1, n - 5] = 1.2
    data = StemSet(SR, {"vocals": quiet, "accompaniment": loud}, model="2stems")
    dialog = open_dialog(qtbot, data, settings, tmp_path)
    assert dialog.peak_thread is not None  # scanning in the background
    qtbot.waitUntil(lambda: dialog.peak_thread is None, timeout=30_000)
    assert dialog.peak == pytest.approx(1.2)
    assert dialog.depth_combo.currentData() == "32f" and dialog.peak_label.isVisibleTo(dialog)
    dialog.reject()


def test_cancel_while_what_you_hear_is_written_leaves_no_stems(qtbot, settings, tmp_path):
    """Ticked "what you hear", cancelled while that file was written: the stems had already
    been renamed into place and the dialog said "no files were written" (issue 23.8). Now
    the set is one commit: nothing new is left, a replaced file is as it was, and a file of
    the user's that the export does not name is never touched."""
    from PySide6.QtCore import Qt

    from stemsplit.playback.mixer import MixSettings

    out = tmp_path / "out"
    out.mkdir()
    theirs = out / "notes.txt"
    theirs.write_bytes(b"the user's own file")
    old_vocals = out / "My Song - vocals.wav"
    write_audio(old_vocals, np.zeros((2, 100), np.float32), SR)
    before = old_vocals.read_bytes()
    data = stems(SR * 20)
    karaoke = MixSettings((0.0, 0.0), (False, False), (True, False))
    dialog = open_dialog(qtbot, data, settings, out, mix_gains=karaoke.gains)
    dialog.mix_check.setChecked(True)
    mix_name = dialog.job().mix_path().name
    seen: list[str] = []
    answer_next_question(qtbot, "Replace", seen)
    dialog.export_button.click()
    job = dialog.thread.job

    def cancel_on_mix(_fraction: float, name: str) -> None:  # on the worker thread
        if name == mix_name:
            job.cancel.set()

    dialog.thread.progressed.connect(cancel_on_mix, Qt.DirectConnection)
    qtbot.waitUntil(lambda: dialog.thread is None, timeout=60_000)
    assert job.cancel.is_set() and seen  # cancelled during the mix, after a real Replace
    assert dialog.status.text() == "Export cancelled; no files were written."
    assert sorted(os.listdir(out)) == sorted([theirs.name, old_vocals.name])
    assert theirs.read_bytes() == b"the user's own file"
    assert old_vocals.read_bytes() == before  # the replaced stem is back as it was
    assert dialog.isVisible()


def test_the_peak_note_appearing_later_does_not_cut_off_the_preview(qtbot, settings, tmp_path):
    """Opened at 32-bit float (peaks kept: a short note), then 24-bit chosen: the longer
    warning and its button appeared and squeezed the three-line preview to one line."""
    dialog = open_dialog(qtbot, stems(loud=True), settings, tmp_path, mix_gains=[1.0, 1.0])
    dialog.mix_check.setChecked(True)
    qtbot.waitExposed(dialog)
    assert dialog.depth_combo.currentData() == "32f"  # a first export of a loud song
    dialog.depth_combo.setCurrentIndex(dialog.depth_combo.findData("24"))
    QApplication.processEvents()
    assert dialog.float_button.isVisible() and "will clip" in dialog.peak_label.text()
    assert dialog.preview.text().count("\n") == 2
    for label in (dialog.preview, dialog.peak_label):
        needed = label.heightForWidth(label.width())
        assert label.height() >= needed, (label.text()[:40], label.height(), needed)
    lines = dialog.preview.text().split("\n")
    metrics = dialog.preview.fontMetrics()
    assert max(metrics.horizontalAdvance(t) for t in lines) <= dialog.preview.width()
    assert dialog.height() <= dialog.screen().availableGeometry().height()
