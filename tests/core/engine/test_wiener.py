"""The Wiener post-filter on real music: norbert's EM (test-only reference), dual-mono,
silence, level independence, and the engine's stream still summing to the mix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stemsplit.core.engine import dsp, wiener
from stemsplit.core.engine.postfilter import refine, refine_stems
from stemsplit.core.engine.separator import EngineOptions

N_FFT, HOP = 4096, 1024


def spectra(mix: np.ndarray, stems: np.ndarray):
    window = dsp.hann(N_FFT).double()
    x = dsp.stft(torch.from_numpy(mix.astype(np.float64)), N_FFT, HOP, window)
    s, c, n = stems.shape
    y = dsp.stft(torch.from_numpy(stems.astype(np.float64)).reshape(s * c, n), N_FFT, HOP,
                 window).reshape(s, c, *x.shape[-2:])
    return y, x


@pytest.fixture(scope="module")
def short_stems(musdb_short, separator):
    """The built-in model's vocals and accompaniment of 4 s of the MUSDB18 excerpt."""
    stems = separator.separate(musdb_short.mixture, musdb_short.sample_rate)
    return np.stack([stems.stems["vocals"], stems.stems["accompaniment"]])


def test_em_equals_norbert_on_real_music(musdb_short, short_stems):
    import norbert  # reference implementation, never imported by stemsplit

    y, x = spectra(musdb_short.mixture[:, :3 * 44100], short_stems[..., :3 * 44100])
    ours = wiener.wiener(y, x, iterations=2).numpy()
    scale = float(x.abs().max()) / 10
    assert scale > 1  # norbert.wiener scales loud mixtures the same way
    theirs = norbert.expectation_maximization(
        y.numpy().transpose(3, 2, 1, 0) / scale, x.numpy().transpose(2, 1, 0) / scale, 2)[0]
    theirs = theirs.transpose(3, 2, 1, 0) * scale
    assert np.abs(ours - theirs).max() < 1e-6 * np.abs(theirs).max()
    assert np.abs(ours - y.numpy()).max() > 0.01 * np.abs(theirs).max()  # it did something


def test_refined_stems_sum_to_the_mix_and_do_not_depend_on_the_level(musdb_short,
                                                                     short_stems):
    mix = musdb_short.mixture
    out = refine(short_stems, mix, 1)
    assert out.dtype == np.float32 and out.shape == short_stems.shape
    assert np.abs(out.sum(axis=0) - mix).max() < 1e-6
    quiet = refine(short_stems * 1e-3, mix * 1e-3, 1)
    np.testing.assert_allclose(quiet, out * 1e-3, atol=1e-8)


def test_dual_mono_is_filtered_as_mono(musdb_short, short_stems):
    """L == R makes every 2x2 mixture covariance singular; the result must stay exact."""
    mid = musdb_short.mixture.mean(axis=0, keepdims=True)
    stems_mid = short_stems.mean(axis=1, keepdims=True)
    dual = refine(np.repeat(stems_mid, 2, axis=1), np.repeat(mid, 2, axis=0), 2)
    assert np.isfinite(dual).all()
    np.testing.assert_array_equal(dual[:, 0], dual[:, 1])
    mono = refine(stems_mid, mid, 2)
    np.testing.assert_allclose(dual[:, :1], mono, atol=1e-6)
    assert np.abs(mono - stems_mid).max() > 1e-3  # filtered, not passed through


def test_silence_stays_silent_and_a_silent_stem_stays_defined(musdb_short, short_stems):
    zeros = np.zeros_like(short_stems)
    assert not refine(zeros, zeros[0], 2).any()
    one_silent = short_stems.copy()
    one_silent[0] = 0.0
    out = refine(one_silent, musdb_short.mixture, 2)
    assert np.isfinite(out).all()
    assert np.abs(out[0]).max() < 1e-6  # a source with no power gets none
    half = musdb_short.mixture.copy()
    half[:, : half.shape[1] // 2] = 0.0  # a song that starts with silence
    stems = short_stems * (half != 0)
    out = refine(stems, half, 1)
    assert np.isfinite(out).all() and not out[:, :, : half.shape[1] // 2 - N_FFT].any()


@pytest.mark.slow
def test_the_engine_applies_it_in_chunks_and_still_sums_to_the_mix(demo_audio, separator):
    """9 s of the demo song span two 8 s chunks of the post-filter."""
    from stemsplit.core.models.registry import load_separator

    filtered = load_separator(device="cpu", options=EngineOptions(wiener_iterations=1))
    assert filtered.wiener_iterations == 1 and separator.wiener_iterations == 0
    audio, rate = demo_audio.samples[:, : 9 * 44100], demo_audio.sample_rate
    starts, ends = [], []
    out = {s: np.zeros_like(audio) for s in filtered.stems}
    for p in filtered.iter_separate(audio, rate):
        if p.stems is not None:
            starts.append(p.stems.start)
            ends.append(p.stems.start + p.stems.length)
            for s, block in p.stems.audio.items():
                out[s][:, p.stems.start: p.stems.start + block.shape[-1]] = block
    assert starts[0] == 0 and ends[-1] == audio.shape[1] and starts[1:] == ends[:-1]
    assert np.abs(sum(out.values()) - audio).max() < 1e-6
    plain = separator.separate(audio, rate)
    change = np.abs(out["vocals"] - plain.stems["vocals"]).max()
    assert change > 1e-3
    # Chunked as the engine does, the same as refining the finished stems chunk by chunk.
    again = refine_stems(plain.stems, audio, 1, rate)
    np.testing.assert_allclose(again["vocals"], out["vocals"], atol=2e-4)
    mono = filtered.separate(audio[:1, : 3 * rate], rate)
    assert mono.stems["vocals"].shape == (1, 3 * rate)
    assert np.abs(mono.mix() - audio[:1, : 3 * rate]).max() < 1e-6
