"""Exporting from the real window: what was written is said, peaks are kept by default."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import Qt, QUrl

from tests.gui.conftest import load

RUN_TIMEOUT_MS = 180_000
LSB_24 = 2.0 ** -23


def read(path) -> np.ndarray:
    return sf.read(path, dtype="float64", always_2d=True)[0].T


def separate(qtbot, window, path):
    load(qtbot, window, path)
    with qtbot.waitSignal(window.session.separationFinished, timeout=RUN_TIMEOUT_MS):
        window.separate()
    return window.session.stems


def export(qtbot, window, folder):
    """File > Export Stems, and choose ``folder``; returns the dialog."""
    window.actions["export"].trigger()
    dialog = window.export_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.folder_edit.setText(str(folder))
    return dialog


def run(qtbot, dialog):
    with qtbot.waitSignal(dialog.finished_export, timeout=60_000):
        qtbot.mouseClick(dialog.export_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.result_box is not None and dialog.result_box.isVisible(),
                    timeout=10_000)
    return dialog.result_box


@pytest.fixture
def loud_clip(tmp_path, demo_audio):
    """4 s of the demo raised to peak at +3.5 dBFS (a float WAV holds it)."""
    clip = demo_audio.samples[:, : 4 * demo_audio.sample_rate]
    clip = clip * np.float32(10 ** (3.5 / 20) / np.abs(clip).max())
    path = tmp_path / "loud clip.wav"
    sf.write(path, clip.T, demo_audio.sample_rate, subtype="FLOAT")
    return path


def test_export_says_what_was_written_and_offers_the_folder(qtbot, window, short_clip,
                                                            tmp_path):
    stems = separate(qtbot, window, short_clip)
    out = tmp_path / "my stems"
    dialog = export(qtbot, window, out)
    # The demo goes above full scale, so 32-bit float is proposed; this test is about 24-bit.
    assert dialog.depth_combo.currentData() == "32f"
    dialog.depth_combo.setCurrentIndex(dialog.depth_combo.findData("24"))
    box = run(qtbot, dialog)
    assert not dialog.isVisible()
    names = ["short clip - vocals.wav", "short clip - accompaniment.wav"]
    assert str(out) in box.heading.text() and "Exported 2 files" in box.heading.text()
    assert box.files.text().splitlines() == names
    # The demo peaks at +0.4 dBFS (an MP3 decode); 24-bit clips those few overs, and says so.
    assert box.note.isVisible() and "clipped" in box.note.text()
    assert window.statusBar().currentMessage() == f"Exported 2 files to {out}."
    opened: list[QUrl] = []
    box.opener = opened.append  # instead of the system's file manager
    assert box.show_button.text() == "Show in Folder" and box.show_button.isVisible()
    qtbot.mouseClick(box.show_button, Qt.LeftButton)
    assert opened == [QUrl.fromLocalFile(str(out))] and not box.isVisible()

    # 24-bit WAV, no normalising: every stem at unity gain (not 0.5 dB
    # under the mix), so they sum to the mix wherever no stem went above full scale.
    files = [read(out / n) for n in names]
    for data, name in zip(files, stems.names, strict=True):
        assert np.abs(data - np.clip(stems.stems[name], -1, 1)).max() <= LSB_24
    in_range = np.all([np.abs(a) < 1 for a in stems.stems.values()], axis=0)
    assert in_range.mean() > 0.999
    error = np.abs(sum(files) - window.session.audio.samples)[in_range]
    assert error.max() <= 2 * LSB_24


def test_loud_stems_keep_their_peaks_by_default(qtbot, window, loud_clip, tmp_path):
    stems = separate(qtbot, window, loud_clip)
    peak = max(float(np.abs(a).max()) for a in stems.stems.values())
    assert peak > 1.2
    dialog = export(qtbot, window, tmp_path / "24")
    # A first export of a song above full scale: 32-bit float is chosen already, calmly said.
    assert dialog.depth_combo.currentData() == "32f" and not dialog.will_clip()
    assert "32-bit float keeps them" in dialog.peak_label.text()
    assert "⚠" not in dialog.peak_label.text()
    dialog.depth_combo.setCurrentIndex(dialog.depth_combo.findData("24"))
    assert not dialog.normalise_check.isChecked()  # peaks kept unless asked
    assert dialog.peak_label.isVisible() and "24-bit files will clip" in dialog.peak_label.text()
    assert dialog.float_button.isVisible()
    box = run(qtbot, dialog)
    assert box.note.isVisible() and "clipped" in box.note.text()
    box.close()

    dialog = export(qtbot, window, tmp_path / "float")
    qtbot.mouseClick(dialog.float_button, Qt.LeftButton)
    assert dialog.depth_combo.currentData() == "32f" and not dialog.float_button.isVisible()
    assert "32-bit float keeps them" in dialog.peak_label.text()
    box = run(qtbot, dialog)
    assert not box.note.isVisible()
    files = [read(p) for p in box.paths]
    for data, name in zip(files, stems.names, strict=True):
        np.testing.assert_array_equal(data, stems.stems[name])  # unity gain, peaks and all
    assert max(np.abs(f).max() for f in files) == pytest.approx(peak)  # above 1, kept
    np.testing.assert_allclose(sum(files), window.session.audio.samples, atol=1e-6)
