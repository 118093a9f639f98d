"""The player on a real (null) PulseAudio sink: what is recorded is what was asked for."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import numpy as np
import pytest

from stemsplit.playback import Player, list_output_devices
from stemsplit.playback.devices import SETTINGS_KEY, saved_device_name
from stemsplit.settings import Settings
from tests.playback.pulse_sink import NullSink, use_sink

PLAY_SECONDS = 2.0


@pytest.fixture
def player(null_sink):
    p = Player()
    yield p
    p.close()


def wait_until(cond, timeout: float = 15.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def play_and_record(player: Player, sink: NullSink, seconds: float) -> np.ndarray:
    """Play from the start for ``seconds`` of song time; return what the sink heard."""
    player.seek(0)
    end = round(seconds * player.sample_rate)
    with sink.recording() as rec:
        assert player.play(), player.error
        assert wait_until(lambda: player.position >= end or player.poll() is not None)
        player.pause()
        time.sleep(0.4)  # let the fade-out and the device buffer drain into the monitor
    assert player.error is None
    return rec[0]


def best_lag(rec: np.ndarray, ref: np.ndarray) -> int:
    """The lag ``L`` with ``rec[i] ~ ref[i - L]`` (both mono), by FFT cross-correlation.

    ``L`` may be negative: the monitor can start delivering after playback began.
    """
    n = 1 << int(np.ceil(np.log2(len(rec) + len(ref))))
    xc = np.fft.irfft(np.fft.rfft(rec, n) * np.conj(np.fft.rfft(ref, n)), n)
    lags = np.r_[np.arange(0, len(rec)), np.arange(-len(ref) + 1, 0)]
    idx = np.r_[np.arange(0, len(rec)), np.arange(n - len(ref) + 1, n)]
    return int(lags[np.argmax(xc[idx])])


def compare(rec: np.ndarray, stems: dict[str, np.ndarray], target: str, sr: int,
            seconds: float = PLAY_SECONDS):
    """Align the recording with ``target``; return the correlation with every stem and
    the level difference (dB) from the target over the part both hold."""
    played = int(seconds * sr)
    ref = stems[target][:, :played]
    lag = best_lag(rec[:, 0], ref[0])
    edge = 1000  # leave out the start / stop fades
    a, b = max(0, lag) + edge, min(len(rec), lag + played) - edge
    assert b - a > sr, f"the sink recorded too little ({b - a} samples overlap)"
    seg = rec[a:b]
    corr = {}
    for name, audio in stems.items():
        x = audio[:, a - lag:b - lag].T
        corr[name] = float(np.sum(seg * x) / np.sqrt(np.sum(seg**2) * np.sum(x**2)))
    x = ref[:, a - lag:b - lag].T
    level_db = 10 * np.log10(np.mean(seg**2) / np.mean(x**2))
    return corr, level_db


def test_soloed_vocals_are_what_the_sink_hears(player, null_sink, demo_audio, demo_stems):
    stems = demo_stems.stems
    player.set_sources(demo_audio.samples, demo_audio.sample_rate, stems)
    assert player.names == ("vocals", "accompaniment")
    player.set_solo("vocals", True)
    rec = play_and_record(player, null_sink, PLAY_SECONDS)
    corr, level_db = compare(rec, stems, "vocals", demo_audio.sample_rate)
    assert corr["vocals"] > 0.98, corr
    assert corr["accompaniment"] < 0.5, corr
    assert abs(level_db) < 0.5, level_db


def test_muted_vocals_leave_the_accompaniment(player, null_sink, demo_audio, demo_stems):
    stems = demo_stems.stems
    player.set_sources(demo_audio.samples, demo_audio.sample_rate, stems)
    player.set_mute("vocals", True)
    player.set_solo("vocals", True)  # mute wins over solo
    rec = play_and_record(player, null_sink, PLAY_SECONDS)
    corr, level_db = compare(rec, stems, "accompaniment", demo_audio.sample_rate)
    assert corr["accompaniment"] > 0.98, corr
    assert corr["vocals"] < 0.5, corr
    assert abs(level_db) < 0.5, level_db


def test_mixture_plays_before_separation(player, null_sink, demo_audio):
    player.set_sources(demo_audio.samples, demo_audio.sample_rate)
    assert player.names == ("mix",) and not player.has_stems
    player.set_gain_db("mix", -6.0)
    rec = play_and_record(player, null_sink, PLAY_SECONDS)
    corr, level_db = compare(rec, {"mix": demo_audio.samples}, "mix", demo_audio.sample_rate)
    assert corr["mix"] > 0.98
    assert level_db == pytest.approx(-6.0, abs=0.5)


def test_growing_stems_play_only_what_is_finished(player, null_sink, demo_audio, demo_stems):
    sr = demo_audio.sample_rate
    growing = {n: np.zeros_like(a) for n, a in demo_stems.stems.items()}
    player.set_sources(demo_audio.samples, sr, growing, available=0)
    half = sr // 2
    for n, a in demo_stems.stems.items():  # what a finished StemBlock does
        growing[n][:, :half] = a[:, :half]
    player.set_available(half)
    assert player.available == half
    rec = play_and_record(player, null_sink, 1.5)
    mix = demo_stems.mix()
    lag = best_lag(rec[:, 0], mix[0, :half])
    heard = rec[max(lag, 0) + 1000: lag + half - 1000]
    ref = mix[:, max(lag, 0) + 1000 - lag: half - 1000].T
    corr = np.sum(heard * ref) / np.sqrt(np.sum(heard**2) * np.sum(ref**2))
    assert len(heard) > sr // 4 and corr > 0.98, corr  # the finished half second plays ...
    unfinished = rec[lag + half + 300: lag + int(1.4 * sr)]
    assert len(unfinished) > sr // 2 and np.abs(unfinished).max() < 1e-4  # ... then silence


def test_playback_runs_to_the_end_and_restarts(player, null_sink):
    sr = 44100
    tone = (0.2 * np.sin(2 * np.pi * 330 * np.arange(sr // 2) / sr)).astype(np.float32)
    player.set_sources(np.stack([tone, tone]), sr)
    assert player.play()
    assert wait_until(lambda: not player.is_playing)
    assert player.position == player.length and player.error is None
    assert player.play()  # plays again from the start
    assert player.position < player.length


def test_device_list_and_remembered_choice(null_sink):
    devices = list_output_devices()
    names = [d.name for d in devices]
    assert "pulse" in names and any(d.is_default for d in devices)
    p = Player()
    p.set_device("pulse")
    assert Settings().get(SETTINGS_KEY) == "pulse" == saved_device_name()
    p2 = Player.from_settings()
    assert p2.device_name == "pulse"
    p2.set_sources(np.zeros((1, 4410), np.float32), 44100)
    assert p2.play(), p2.error
    p2.close()


def test_missing_device_gives_a_clear_message(null_sink):
    p = Player(device="No Such Card 9000")
    p.set_sources(np.zeros((2, 4410), np.float32), 44100)
    assert not p.play()
    assert "No Such Card 9000" in p.error and "not available" in p.error
    assert not p.is_playing


@contextlib.contextmanager
def playing_on_own_server(name: str, audio) -> Iterator[tuple[Player, NullSink]]:
    """A player already playing ``audio`` through a private sound server we can break."""
    own = NullSink(name=name)
    own.start()
    try:
        with use_sink(own):
            p = Player(device="pulse")
            p.set_sources(audio.samples, audio.sample_rate)
            assert p.play(), p.error
            assert wait_until(lambda: p.position > 4096)
            yield p, own
            p.close()
    finally:
        own.cleanup()


def test_device_failure_stops_with_a_message_and_can_restart(null_sink, demo_audio):
    with playing_on_own_server("stemsplit_failing", demo_audio) as (p, own):
        own.stop()  # the sound server (the "device") dies while playing
        assert wait_until(lambda: p.poll() is not None or p.error is not None)
        assert "audio device" in p.error
        assert not p.is_playing
        before = p.position
        own.start()  # the device comes back: playback restarts where it stopped
        assert p.play(), p.error
        assert wait_until(lambda: p.position > before + 4096)
        assert p.poll() is None and p.error is None


def test_rate_the_device_refuses_is_resampled(player, null_sink):
    sr = 400_000  # above what PulseAudio accepts (384 kHz), so the device refuses it
    t = np.arange(int(1.5 * sr)) / sr
    tone = (0.25 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    player.set_sources(tone[None, :], sr)  # mono: heard on both channels
    rec = play_and_record(player, null_sink, 1.0)
    assert player._out_rate == 44100  # the device's own rate
    assert player.position >= sr  # positions stay in the song's samples
    idx = np.nonzero(np.abs(rec[:, 0]) > 0.05)[0]
    loud = rec[idx[0] + 500: idx[-1] - 500]  # the tone, without its fades
    assert len(loud) > 0.8 * null_sink.rate
    np.testing.assert_allclose(loud[:, 0], loud[:, 1], atol=1e-4)
    spectrum = np.abs(np.fft.rfft(loud[:32768, 0] * np.hanning(32768)))
    peak_hz = np.argmax(spectrum) * null_sink.rate / 32768
    assert peak_hz == pytest.approx(1000, abs=3)  # pitch kept: the rate conversion is right
    assert np.sqrt(np.mean(loud[:, 0] ** 2)) == pytest.approx(0.25 / np.sqrt(2), rel=0.05)


def test_frozen_device_is_detected_without_hanging(null_sink, demo_audio):
    import os
    import signal

    with playing_on_own_server("stemsplit_frozen", demo_audio) as (p, own):
        os.kill(own.pid, signal.SIGSTOP)  # the server hangs: no error, just silence
        try:
            messages = []
            started = time.monotonic()
            assert wait_until(lambda: messages.append(p.poll()) or p.error is not None,
                              timeout=30)
            assert time.monotonic() - started < 15  # detected, and closing did not hang
            assert "not responding" in p.error or "stopped" in p.error
            assert not p.is_playing
        finally:
            os.kill(own.pid, signal.SIGCONT)


def test_device_rescan_waits_for_open_streams(player, null_sink):
    from stemsplit.playback.devices import rescan

    player.set_sources(np.zeros((2, 44100 * 5), np.float32), 44100)
    assert player.play()
    assert not rescan()  # restarting PortAudio now would kill the playing stream
    assert [d.name for d in list_output_devices(refresh=True)]  # the old list, still valid
    assert player.is_playing and player.poll() is None
    player.close()
    assert rescan()


def test_an_edit_refreshes_only_its_span_on_a_resampling_device(player, null_sink):
    """Stems edited in place (the mask editor) at a rate the device refuses: the player
    converts the edited span again, not the song, and plays what a rebuild would."""
    from stemsplit.playback.resample import MARGIN, Resampled

    sr = 441_000  # refused (above 384 kHz); 10 song samples per device sample
    rng = np.random.default_rng(2)
    stems = {k: (0.1 * rng.standard_normal((2, 4 * sr))).astype(np.float32)
             for k in ("vocals", "accompaniment")}
    player.set_sources(stems["vocals"] + stems["accompaniment"], sr, stems)
    assert player.play(), player.error
    assert wait_until(lambda: player.position > 0)
    resampled = player._resampled
    assert resampled is not None and player._out_rate == 44100
    before = resampled.converted
    a, b = sr, sr + sr // 2
    stems["vocals"][:, a:b] *= 0.25  # the edit moves sound from vocals ...
    stems["accompaniment"][:, a:b] += 0.1  # ... and changes the other stem too
    player.set_stems(stems, changed=(a, b))
    player.pause()
    assert player._resampled is resampled  # refreshed, not rebuilt
    assert resampled.converted - before <= 2 * ((b - a) + 2 * MARGIN + MARGIN // 4)
    rebuilt = Resampled([stems["vocals"], stems["accompaniment"]], sr, 44100)
    rebuilt.feed_to(4 * sr)
    for got, want in zip(player._mixer.sources, rebuilt.outputs, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
