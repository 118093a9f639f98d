"""A mask edit refreshes only its span in playback (issue 20.7 / 23.7): on a device that
runs at another rate than the song, the player used to convert the whole song again
after every edit, on the GUI thread (a 30 s edit on a long song froze the window).

Real window, real separation, real (null) PulseAudio device: a 441 kHz clip, which the
sink refuses, so the player resamples to 44.1 kHz.
"""

from __future__ import annotations

import numpy as np
import soundfile as sf
import soxr

from tests.gui.conftest import load

SONG_RATE = 441_000  # above PulseAudio's 384 kHz: the device refuses it


def test_a_wide_edit_converts_only_its_span_again(qtbot, window, null_sink, demo_audio,
                                                   tmp_path):
    from stemsplit.core.editing.editor import Edit, Region
    from stemsplit.playback.resample import MARGIN, Resampled

    clip = soxr.resample(demo_audio.samples[:, :6 * 44100].T, 44100, SONG_RATE)
    path = tmp_path / "high rate.wav"
    sf.write(path, clip, SONG_RATE, subtype="FLOAT")
    load(qtbot, window, path)
    applier = window.edits.applier
    with qtbot.waitSignal(applier.ready, timeout=180_000):
        window.separate()
    qtbot.waitUntil(lambda: not applier.worker.busy, timeout=60_000)
    player = window.playback.player
    assert player.play(), player.error
    qtbot.waitUntil(lambda: player.position > 0, timeout=15_000)
    resampled = player._resampled
    assert resampled is not None and player._out_rate != SONG_RATE
    before = resampled.converted

    with qtbot.waitSignal(applier.changed, timeout=60_000):
        applier.apply(Edit(Region.rect(1.0, 4.0, 300, 8000), "assign", "vocals"))
    player.pause()
    a, b = applier.last_range
    assert b - a < 4 * SONG_RATE
    assert player._resampled is resampled  # refreshed in place, not rebuilt
    n_stems = len(window.session.stems.names)
    # the edited span and its margins, per stem; the song is 6 s
    assert resampled.converted - before <= n_stems * ((b - a) + 2 * MARGIN + MARGIN // 4)
    stems = window.session.stems.stems
    rebuilt = Resampled([stems[n] for n in window.session.stems.names], SONG_RATE,
                        player._out_rate)
    rebuilt.feed_to(player.length)
    for got, want in zip(player._mixer.sources, rebuilt.outputs, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
