"""The mixer without an audio device: solo/mute, gain ramps, fades, loops, seeks, song end."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from stemsplit.playback.mixer import Mixer, MixSettings, Transport, db_to_gain

SR = 44100


def render(m: Mixer, frames: int, block: int = 512) -> np.ndarray:
    """Run the mixer like a device would, ``block`` frames per callback."""
    out = np.empty((frames, 2), dtype=np.float32)
    for i in range(0, frames, block):
        m.render(out[i:i + block])
    return out


def ramp_sources(n: int = SR) -> list[np.ndarray]:
    """Two stereo sources whose samples say where they come from (sample index)."""
    idx = np.arange(n, dtype=np.float32) / n
    a = np.stack([idx, -idx])
    b = np.stack([0.5 * np.ones(n, np.float32), 0.25 * np.ones(n, np.float32)])
    return [a, b]


def playing_mixer(sources, settings=None, **transport) -> Mixer:
    m = Mixer(SR)
    m.set_sources(sources, settings=settings)
    m.transport = Transport(playing=True, play_serial=1, **transport)
    m.level = 1.0  # past the start fade, so samples can be compared exactly
    return m


def test_effective_gains_follow_daw_rules():
    s = MixSettings.unity(3)
    assert s.gains.tolist() == [1, 1, 1]
    s = s.with_solo(0, True)
    assert s.gains.tolist() == [1, 0, 0]
    s = s.with_solo(2, True)  # several solos combine
    assert s.gains.tolist() == [1, 0, 1]
    s = s.with_mute(0, True)  # mute wins over solo
    assert s.gains.tolist() == [0, 0, 1]
    s = s.with_mute(2, True)  # every soloed source muted: the solos no longer exclude others
    assert s.gains.tolist() == [0, 1, 0]
    s = MixSettings.unity(2).with_gain_db(1, -6.0)
    assert s.gains[1] == pytest.approx(db_to_gain(-6.0)) == pytest.approx(0.501, abs=1e-3)
    assert MixSettings.unity(1).with_gain_db(0, -60).gains[0] == 0.0
    with pytest.raises(ValueError):
        s.gains[0] = 2.0  # shared with the audio thread: read-only


def test_unity_stems_reproduce_the_mix(demo_stems):
    names = demo_stems.names
    m = playing_mixer([demo_stems.stems[n] for n in names])
    out = render(m, 20000, block=1024)
    mix = demo_stems.mix()[:, :20000].T
    np.testing.assert_allclose(out, mix, atol=1e-6)


def test_solo_and_mute_select_stems(demo_stems):
    voc, acc = demo_stems.stems["vocals"], demo_stems.stems["accompaniment"]
    solo = MixSettings.unity(2).with_solo(0, True)
    out = render(playing_mixer([voc, acc], solo), 8192)
    np.testing.assert_allclose(out, voc[:, :8192].T, atol=1e-7)
    mute = MixSettings.unity(2).with_mute(0, True)
    out = render(playing_mixer([voc, acc], mute), 8192)
    np.testing.assert_allclose(out, acc[:, :8192].T, atol=1e-7)


def test_mono_source_plays_on_both_channels():
    mono = np.linspace(0, 1, 1000, dtype=np.float32)[None, :]
    out = render(playing_mixer([mono]), 1000, block=100)
    np.testing.assert_array_equal(out[:, 0], mono[0])
    np.testing.assert_array_equal(out[:, 1], mono[0])


def test_gain_change_ramps_over_one_block():
    n = 512
    src = [np.ones((2, SR), dtype=np.float32)]
    m = playing_mixer(src)
    render(m, n, block=n)
    m.settings = m.settings.with_gain_db(0, -60)  # to silence
    out = render(m, 2 * n, block=n)
    ramp = out[:n, 0]
    expected = 1.0 - np.arange(1, n + 1) / n
    np.testing.assert_allclose(ramp, expected, atol=1e-6)
    assert np.all(np.diff(ramp) < 0)  # smooth, no jump
    assert np.all(out[n:] == 0.0)  # the next block sits at the new gain
    assert m.levels[0] == 0.0


def test_start_and_stop_fade_in_and_out():
    src = [np.ones((2, SR), dtype=np.float32)]
    m = Mixer(SR)
    m.set_sources(src)
    assert np.all(render(m, 1024) == 0.0)  # not playing: silence, position holds
    assert m.position == 0
    m.transport = Transport(playing=True, play_serial=1)
    out = render(m, 1024)[:, 0]
    fade = m.fade_len
    assert 0 < out[0] < 0.01
    assert np.all(np.diff(out[:fade]) > 0)
    assert out[fade - 1] == pytest.approx(1.0)
    assert np.all(out[fade:] == 1.0)
    assert m.position == 1024
    m.transport = Transport(playing=False, play_serial=1)
    out = render(m, 1024)[:, 0]
    assert np.all(np.diff(out[:fade]) < 0) and out[fade - 1] == pytest.approx(0.0)
    assert np.all(out[fade:] == 0.0)
    assert m.position == 1024 + fade  # stops right after the fade


def test_seek_fades_out_jumps_and_fades_in():
    src = ramp_sources()
    m = playing_mixer(src[:1])
    render(m, 1000)
    m.transport = Transport(playing=True, play_serial=1, seek_to=30000, seek_serial=1)
    out = render(m, 2048, block=2048)[:, 0]
    fade = m.fade_len
    # first the old place fades out ...
    expected_old = src[0][0, 1000:1000 + fade] * (1 - np.arange(1, fade + 1) / fade)
    np.testing.assert_allclose(out[:fade], expected_old, atol=1e-6)
    # ... then the new place fades in, and plays on
    expected_new = src[0][0, 30000:30000 + fade] * (np.arange(1, fade + 1) / fade)
    np.testing.assert_allclose(out[fade:2 * fade], expected_new, atol=1e-6)
    np.testing.assert_array_equal(out[2 * fade:], src[0][0, 30000 + fade:30000 + 2048 - fade])
    assert m.position == 30000 + 2048 - fade


def test_seek_while_paused_moves_without_sound():
    m = Mixer(SR)
    m.set_sources(ramp_sources())
    m.transport = Transport(playing=False, seek_to=5000, seek_serial=1)
    assert np.all(render(m, 512) == 0.0)
    assert m.position == 5000


def test_loop_wraps_sample_accurately():
    src = ramp_sources(10000)
    m = playing_mixer(src[:1], loop=(1000, 1300))
    m.position = 1200
    out = render(m, 400, block=128)[:, 0]
    got_idx = np.rint(out * 10000).astype(int)
    expected = np.r_[np.arange(1200, 1300), np.arange(1000, 1300), np.arange(1000, 1000)]
    np.testing.assert_array_equal(got_idx, expected[:400])
    assert m.position == 1300


def test_end_of_song_stops_and_pads_with_silence():
    src = ramp_sources(3000)
    m = playing_mixer(src)
    out = render(m, 4096, block=1024)
    assert np.all(out[3000:] == 0.0)
    np.testing.assert_allclose(out[:3000, 0], src[0][0] + src[1][0], atol=1e-6)
    assert m.ended and m.position == 3000
    assert np.all(render(m, 1024) == 0.0)
    m.transport = Transport(playing=True, play_serial=2, seek_to=0, seek_serial=1)  # play again
    assert not m.ended
    assert np.any(render(m, 1024) != 0.0)


def test_unfinished_stems_are_silent_beyond_available():
    src = ramp_sources(5000)
    m = Mixer(SR)
    m.set_sources(src, available=2000)
    m.transport = Transport(playing=True, play_serial=1)
    m.level = 1.0
    out = render(m, 3000, block=1000)
    assert np.all(out[2000:] == 0.0) and np.all(out[1:2000, 0] != 0.0)
    m.available = 5000  # separation caught up: playback goes on with real audio
    out = render(m, 1000)
    np.testing.assert_allclose(out[:, 0], src[0][0, 3000:4000] + 0.5, atol=1e-6)


def test_big_device_blocks_are_rendered_in_pieces():
    src = [np.ones((2, 20000), dtype=np.float32)]
    m = playing_mixer(src)
    out = render(m, 10000, block=10000)
    assert np.all(out == 1.0) and m.position == 10000


def test_mismatched_sources_are_refused():
    m = Mixer(SR)
    with pytest.raises(ValueError):
        m.set_sources([np.zeros((2, 10), np.float32), np.zeros((2, 11), np.float32)])
    with pytest.raises(ValueError):
        m.set_sources([np.zeros((2, 10), np.float32)], settings=MixSettings.unity(2))
    with pytest.raises(ValueError):
        MixSettings((0.0,), (False, False), (False,))


def test_render_allocates_no_array_memory(demo_stems):
    """The audio callback's work creates no numpy buffers, whatever happens in the block."""
    import tracemalloc

    srcs = [demo_stems.stems[n] for n in demo_stems.names]
    m = Mixer(SR)
    m.set_sources(srcs, available=200_000)
    out = np.empty((1024, 2), dtype=np.float32)
    m.transport = Transport(playing=True, play_serial=1)
    m.render(out)  # warm up
    changes = [
        lambda: setattr(m, "settings", m.settings.with_gain_db(0, -6.0)),
        lambda: setattr(m, "settings", m.settings.with_solo(1, True)),
        lambda: setattr(m, "transport", replace(m.transport, loop=(150_000, 151_000))),
        lambda: setattr(m, "transport", replace(m.transport, seek_to=150_500, seek_serial=1)),
        lambda: setattr(m, "transport", replace(m.transport, playing=False)),
    ]
    tracemalloc.start()
    try:
        for change in changes:
            change()  # the GUI's side may allocate (a new settings object)
            snap0 = tracemalloc.take_snapshot()
            for _ in range(20):
                m.render(out)
            snap1 = tracemalloc.take_snapshot()
            numpy_domain = tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)
            diff = snap1.filter_traces([numpy_domain]).compare_to(
                snap0.filter_traces([numpy_domain]), "lineno")
            grown = [d for d in diff if d.count_diff > 0 or d.size_diff > 0]
            assert grown == [], grown
    finally:
        tracemalloc.stop()
    assert 150_000 <= m.position <= 151_000  # the seek and the loop really ran
