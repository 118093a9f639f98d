"""A saved ensemble is a model box entry; choosing it separates with every member."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from stemsplit.core.models.ensemble import spec as ensemble_spec
from tests.gui.conftest import load


@pytest.fixture
def vox_preset():
    """Saved before the window probes the models."""
    ensemble_spec.save_preset("vox", ensemble_spec.parse("2stems+2stems-16kHz@max_spec"))
    return "vox"


@pytest.mark.slow
def test_saved_ensemble_is_offered_and_separates(qtbot, vox_preset, window, short_clip):
    combo = window.run_panel.model
    index = combo.findData("vox")
    assert index >= 0 and "Ensemble" in combo.itemText(index)
    assert "(not installed)" not in combo.itemText(index)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    assert window.session.model_name == "vox" and window.download_dialog is None
    load(qtbot, window, short_clip)
    with qtbot.waitSignal(window.session.separationFinished, timeout=180_000):
        qtbot.mouseClick(window.run_panel.separate, Qt.LeftButton)
    stems = window.session.stems
    assert stems is not None and stems.names == ["vocals", "accompaniment"]
    assert np.abs(stems.mix() - window.session.audio.samples).max() < 1e-5
