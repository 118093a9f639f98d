"""The engine on real music: sum-to-mix, rates, channels, chunks, progress, cancel."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import soxr

from stemsplit.core.errors import Cancelled, StemsplitError
from tests.conftest import db


def _sum_error_db(mix: np.ndarray, stems) -> float:
    err = mix - stems.mix()
    return db(np.sum(err.astype(np.float64) ** 2) / np.sum(mix.astype(np.float64) ** 2))


def test_stems_sum_to_mix_and_differ(demo_audio, demo_stems):
    mix = demo_audio.samples
    assert demo_stems.names == ["vocals", "accompaniment"]
    assert all(s.shape == mix.shape for s in demo_stems.stems.values())
    assert _sum_error_db(mix, demo_stems) < -50
    vocals, accomp = demo_stems.stems["vocals"], demo_stems.stems["accompaniment"]
    corr = np.corrcoef(vocals.ravel(), accomp.ravel())[0, 1]
    assert abs(corr) < 0.5  # genuinely separated, not two copies of the mix
    assert db(np.mean(vocals ** 2)) > db(np.mean(mix ** 2)) - 20


@pytest.mark.parametrize("rate", [8000, 22050, 48000, 96000])
def test_other_rates_keep_length_and_sum(separator, demo_audio, rate):
    mix = soxr.resample(demo_audio.samples[:, :200_000].T, 44100, rate).T.copy()
    stems = separator.separate(mix, rate)
    assert stems.length == mix.shape[1]
    assert _sum_error_db(mix, stems) < -50
    # the vocals are not just silence or the whole mix at any rate
    share = np.sum(stems.stems["vocals"] ** 2) / np.sum(mix ** 2)
    assert 0.02 < share < 0.9


def test_mono_is_separated_and_returned_mono(separator, demo_audio):
    mono = demo_audio.samples.mean(axis=0, keepdims=True)
    stems = separator.separate(mono, 44100)
    assert stems.stems["vocals"].shape == mono.shape
    assert _sum_error_db(mono, stems) < -50


def test_long_input_spans_chunks_without_seams(separator, demo_audio):
    mix = np.tile(demo_audio.samples, (1, 3))  # ~33 s: three chunks with two cross-fades
    records = list(separator.iter_separate(mix, 44100))
    blocks = [r.stems for r in records if r.stems is not None]
    assert records[-1].n_chunks >= 3 and records[-1].fraction == 1.0
    starts = [b.start for b in blocks]
    assert starts[0] == 0
    assert all(b.start + b.length == nxt for b, nxt in zip(blocks, starts[1:], strict=False))
    assert blocks[-1].start + blocks[-1].length == mix.shape[1]
    vocals = np.concatenate([b.audio["vocals"] for b in blocks], axis=1)
    # Seams: the sample-to-sample jump at each block boundary is like any other jump.
    jumps = np.abs(np.diff(vocals, axis=1)).max(axis=0)
    typical = np.percentile(jumps, 99.9)
    for b in blocks[1:]:
        assert jumps[b.start - 1] <= typical * 1.5
    # The same music in the three copies separates the same way (no chunk is broken).
    n = demo_audio.frames
    seg = [vocals[:, i * n + 44100: (i + 1) * n - 44100] for i in range(3)]
    for other in seg[1:]:
        assert db(np.sum((seg[0] - other) ** 2) / np.sum(seg[0] ** 2)) < -10


def test_progress_records(separator, demo_audio):
    records = list(separator.iter_separate(demo_audio.samples, 44100))
    fractions = [r.fraction for r in records]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] == 1
    masks = [r.masks for r in records if r.masks is not None]
    assert masks and masks[0].masks.shape[:2] == (2, 2049)
    np.testing.assert_allclose(masks[0].masks.sum(axis=0), 1.0, atol=1e-4)
    assert masks[0].hop_seconds == pytest.approx(1024 / 44100)
    assert records[-1].eta_s == pytest.approx(0, abs=1e-6)


def test_cancel_stops_with_cancelled(separator, demo_audio):
    cancel = threading.Event()
    mix = np.tile(demo_audio.samples, (1, 3))
    it = separator.iter_separate(mix, 44100, cancel)
    next(it)
    next(it)
    cancel.set()
    with pytest.raises(Cancelled):
        list(it)


@pytest.mark.parametrize("bad, rate, message", [
    (np.zeros((2, 0), np.float32), 44100, "empty"),
    (np.zeros((3, 1000), np.float32), 44100, "mono or stereo"),
    (np.full((2, 1000), np.nan, np.float32), 44100, "NaN"),
    (np.zeros((2, 1000), np.float32), 0, "sample rate"),
])
def test_bad_input_is_a_clear_error(separator, bad, rate, message):
    with pytest.raises(StemsplitError, match=message):
        separator.separate(bad, rate)


def test_full_band_vocals_keep_their_air():
    """On MUSDB ground truth, vocals above 11 kHz survive (Spleeter drops them all)."""
    from benchmarks.musdb import band_energy, load_musdb_excerpt, sdr
    from stemsplit.core.engine.separator import EngineOptions
    from stemsplit.core.models.registry import load_separator

    truth, rate = load_musdb_excerpt()
    ours = load_separator(device="cpu").separate(truth["mixture"], rate)
    zeros = load_separator(device="cpu", options=EngineOptions(extension="zeros")).separate(
        truth["mixture"], rate)
    true_hf = band_energy(truth["vocals"], rate, 11025)
    kept = band_energy(ours.stems["vocals"], rate, 11025) / true_hf
    assert kept > 0.05                                   # within ~13 dB of the truth
    assert band_energy(zeros.stems["vocals"], rate, 11025) / true_hf < 1e-3
    # and the overall separation is no worse for it
    assert sdr(truth["vocals"], ours.stems["vocals"]) >= \
        sdr(truth["vocals"], zeros.stems["vocals"]) - 0.01
