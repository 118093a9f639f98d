"""The model box says per model its stems, its speed here and its licence (issue 20.11)."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from stemsplit.gui.common.names import display_name
from stemsplit.settings import Settings
from tests.gui.test_mask_editing import RUN_TIMEOUT_MS, active, load


def tooltips(window) -> dict[str, str]:
    box = window.run_panel.model
    return {box.itemData(i): box.itemData(i, Qt.ToolTipRole) for i in range(box.count())}


def test_each_model_names_its_stems_licence_and_an_honest_speed(window):
    tips = tooltips(window)
    models = {m.name: m for m in window.session.models}
    assert set(tips) == set(models) and len(tips) >= 10
    for name, tip in tips.items():
        m = models[name]
        assert "Stems: " + ", ".join(display_name(s) for s in m.stems) in tip, name
        assert f"Licence: {m.licence}" in tip, name
        assert "Speed here" not in tip, name  # nothing was run on this machine yet
    for name in ("2stems", "htdemucs_ft", "hpss", "bs-roformer-viperx-1297"):
        assert "Speed: about " in tips[name] and "2-core CPU" in tips[name], name
    # RoFormer weights whose author states no licence say exactly that.
    roformers = [n for n, m in models.items() if m.family == "roformer"]
    assert roformers and all("the author states no licence" in tips[n] for n in roformers)
    assert "Vocals" in tips["2stems"] and "vocals," not in tips["2stems"].split("\n", 1)[1]
    # The box itself tells about the model it shows.
    box = window.run_panel.model
    assert box.toolTip() == tips[box.currentData()]


def test_a_finished_run_puts_its_measured_speed_in_the_model_box(qtbot, window, short_clip):
    assert window.session.model_name == "2stems"
    active(qtbot, window)
    load(qtbot, window, short_clip)
    started = time.monotonic()
    with qtbot.waitSignal(window.session.separationFinished, timeout=RUN_TIMEOUT_MS):
        window.separate()
    waited = time.monotonic() - started
    entry = Settings().get("gui.model_speed")["2stems"]  # what the next start will show
    assert 0 < entry["run_s"] <= waited
    assert entry["song_s"] == round(window.session.audio.duration_s, 2)
    assert entry["s_per_min"] == pytest.approx(entry["run_s"] / (entry["song_s"] / 60), rel=1e-3)
    assert entry["device"].startswith("cpu")
    tip = tooltips(window)["2stems"]
    assert "Speed here: " in tip and "Speed: about" not in tip
    assert "Speed here: last run, 4.0 s of song in " in tip and "on the CPU" in tip
    assert window.run_panel.model.toolTip() == tip
    assert "Speed: about" in tooltips(window)["4stems"]  # other models keep their estimate


def test_a_long_enough_run_reads_as_seconds_per_minute():
    from stemsplit.gui.models import hints
    from stemsplit.gui.run.workers import ModelChoice

    settings = Settings()
    hints.record(settings, "2stems", "cpu · bf16", 240.0, 5.4)
    m = ModelChoice("2stems", "2 stems", ("vocals", "accompaniment"), "MIT", True)
    tip = hints.tooltip(m, hints.measured(settings, "2stems"))
    assert ("Speed here: 1.4 s per minute of song (last run, 4 min of song in 5.4 s on the "
            "CPU, bf16, loading the model not counted)") in tip
