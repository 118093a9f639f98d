"""Train a Model… in the real window: it trains in the background and the model appears."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests._training_data import write_musdb_tracks
from tests.gui.conftest import load

RUN_TIMEOUT_MS = 300_000


@pytest.mark.slow
def test_a_model_trained_in_the_window_separates_and_sums_to_the_mix(
        qtbot, window, tmp_path, short_clip):
    data = write_musdb_tracks(tmp_path / "data")
    with qtbot.waitSignal(window.session.engineReady, timeout=60_000, raising=False):
        pass
    window.actions["train"].trigger()
    dialog = window.train_dialog
    assert dialog.isVisible() and dialog.base.currentData() == "2stems"
    dialog.folder.setText(str(data))
    dialog.name.setText("from-window")
    dialog.steps.setValue(2)
    dialog.window_len.setCurrentIndex(dialog.window_len.findData(64))
    with qtbot.waitSignal(dialog.modelTrained, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(dialog.start, Qt.LeftButton)
    assert "Installed from-window" in dialog.status.text()
    assert "validation SDR" in dialog.status.text()
    qtbot.waitUntil(lambda: window.run_panel.model.findData("from-window") >= 0, timeout=60_000)
    dialog.reject()

    load(qtbot, window, short_clip)
    combo = window.run_panel.model
    combo.setCurrentIndex(combo.findData("from-window"))
    combo.activated.emit(combo.currentIndex())
    assert window.session.model_name == "from-window"
    with qtbot.waitSignal(window.session.separationFinished, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(window.run_panel.separate, Qt.LeftButton)
    stems = window.session.stems
    assert stems.model == "from-window"
    assert np.abs(stems.mix() - window.session.audio.samples).max() < 1e-5


def test_training_without_a_name_or_with_bad_tracks_says_why(qtbot, window, tmp_path):
    window.actions["train"].trigger()
    dialog = window.train_dialog
    dialog.folder.setText(str(tmp_path))
    qtbot.mouseClick(dialog.start, Qt.LeftButton)
    assert "name" in dialog.status.text() and dialog.worker is None
    dialog.name.setText("nothing-here")
    qtbot.mouseClick(dialog.start, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=120_000)
    assert "no tracks" in dialog.status.text()
    assert dialog.start.isEnabled()
    dialog.reject()
