"""An HT-Demucs model runs in the real window: honest time left, masks, and a usable window.

A small random-weight network of the published architecture family is installed
into the model store in its installed format (``checkpoint.write_bag``), so the
window takes the same path as with the downloaded weights, in seconds.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from stemsplit.core.models import store as model_store
from stemsplit.core.models.htdemucs import pretrained
from stemsplit.core.models.htdemucs.checkpoint import BagFile, Member, write_bag
from stemsplit.core.models.htdemucs.config import HTDemucsConfig
from stemsplit.core.models.htdemucs.model import HTDemucs
from stemsplit.gui.spectrogram.axes import format_time
from tests.gui.conftest import load

RUN_TIMEOUT_MS = 180_000
# Small and fast, with 0.78 s segments: a 4 s clip takes several network calls.
SMALL = dict(sources=list(pretrained.FOUR), channels=8, depth=4, segment=0.78, t_layers=2,
             t_heads=2, bottom_channels=32, dconv_mode=3)


@pytest.fixture
def tiny_htdemucs():
    """Installs a random-weight 'htdemucs' before the window probes what is installed."""
    import torch

    torch.manual_seed(3)
    config = HTDemucsConfig.from_kwargs(SMALL)
    state = {k: v.detach().clone() for k, v in HTDemucs(config).state_dict().items()}
    write_bag(model_store.weights_path("htdemucs"), "htdemucs",
              BagFile([Member(config, state)], [[1.0] * 4]))
    return "htdemucs"


def test_ht_model_shows_honest_time_left_while_the_song_keeps_playing(
        qtbot, null_sink, tiny_htdemucs, window, long_clip):
    combo = window.run_panel.model
    index = combo.findData("htdemucs")
    assert index >= 0 and "(not installed)" not in combo.itemText(index)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    assert window.session.model_name == "htdemucs" and window.download_dialog is None
    load(qtbot, window, long_clip)  # ~65 s: dozens of network calls, a few seconds
    session, player = window.session, window.playback.player

    records = []  # what the user sees at each progress report of the engine

    def seen(fraction: float, eta: float, _device: str) -> None:
        records.append(dict(t=time.perf_counter(), fraction=fraction, eta=eta,
                            label=window.progress.eta.text(), playing=player.is_playing,
                            position=player.position))

    session.separationProgress.connect(seen)
    assert player.play()  # listening to the mix while it separates
    with qtbot.waitSignal(session.separationFinished, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(window.run_panel.separate, Qt.LeftButton)
        started = time.perf_counter()
        # Listening goes on: the song plays on while the model works.
        qtbot.waitUntil(lambda: len(records) >= 2, timeout=RUN_TIMEOUT_MS)
        start = player.position
        qtbot.waitUntil(lambda: player.position > start + 2000, timeout=RUN_TIMEOUT_MS)
        assert session.separating and player.is_playing
    finished = time.perf_counter()
    player.pause()

    # The engine's records reach the status bar as they are: the first says "estimating",
    # then each shows elapsed * (1 - f) / f, counting down, and the bar follows f.
    assert len(records) >= 20 and records[0]["eta"] < 0
    assert records[0]["label"] == "estimating…"
    fractions = [r["fraction"] for r in records]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert window.progress.bar.value() == 1000 or not window.progress.isVisible()
    later = [r for r in records[1:] if r["fraction"] < 1.0]
    assert later
    for r in later:
        assert r["label"] == f"{format_time(r['eta'])} left"
        # honest: the engine's own extrapolation from its elapsed time (which starts
        # after the click), never more than the wall clock allows
        elapsed = r["t"] - started
        assert 0 <= r["eta"] <= elapsed * (1 - r["fraction"]) / r["fraction"] + 0.05
    etas = [r["eta"] for r in later]
    assert etas[-1] < etas[0]
    for r in later:  # once a quarter is measured, close to what it really took
        actual = finished - r["t"]
        if r["fraction"] >= 0.25:
            assert actual / 2 - 1 <= r["eta"] <= 2 * actual + 1, (r, actual)

    assert all(r["playing"] for r in records)  # never stopped by the run
    assert records[-1]["position"] > records[1]["position"]

    stems = session.stems
    assert stems is not None and stems.names == list(pretrained.FOUR)
    np.testing.assert_allclose(stems.mix(), session.audio.samples, atol=1e-5)
    assert session.masks.complete and set(window.view.overlays) == set(pretrained.FOUR)
    assert player.names == tuple(pretrained.FOUR) and player.available == player.length
    assert set(window.playback.mixer.strips) == set(pretrained.FOUR)
