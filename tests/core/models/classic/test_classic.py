"""The classic separators on real music: equal to librosa's HPSS, sum-to-mix, what goes where."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from stemsplit.core.engine import dsp
from stemsplit.core.errors import Cancelled, StemsplitError
from stemsplit.core.models.classic import masks as M
from stemsplit.core.models.registry import get_model, list_models, load_separator

RATE = 44100


def _spec(audio: np.ndarray) -> torch.Tensor:
    return dsp.stft(torch.from_numpy(np.ascontiguousarray(audio)), 4096, 1024, dsp.hann(4096))


def test_hpss_masks_equal_librosa_on_the_demo_song(demo_audio):
    librosa = pytest.importorskip("librosa")  # test-only reference (the 'reference' extra)
    mag = _spec(demo_audio.samples[:, : 6 * RATE]).abs()
    for kernel, margin in (((31, 31), 1.0), ((17, 45), 3.0)):
        ours = M.hpss_masks(mag, kernel[0], kernel[1], margin=margin).numpy()
        harm, perc = librosa.decompose.hpss(mag.numpy(), kernel_size=kernel, margin=margin,
                                            mask=True)
        assert np.abs(ours[0] - harm).max() < 1e-6
        assert np.abs(ours[1] - perc).max() < 1e-6
        assert np.allclose(ours.sum(axis=0), 1.0, atol=1e-6)  # residual takes the rest


def test_median_filter_mirrors_edges_like_scipy():
    ndimage = pytest.importorskip("scipy.ndimage")  # comes with librosa (test only)
    x = torch.rand(2, 40, 9)
    for dim, size in ((-1, 31), (-1, 3), (-2, 5), (-2, 101)):
        shape = [1, 1, 1]
        shape[dim] = size
        ref = ndimage.median_filter(x.numpy(), size=shape, mode="reflect")
        assert np.array_equal(M.median_filter(x, size, dim).numpy(), ref)


def _click_and_tone(rate: int = RATE, seconds: float = 4.0) -> np.ndarray:
    """A held 440 Hz note with a short noise burst (a drum hit) every second."""
    t = np.arange(int(rate * seconds)) / rate
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    hits = np.zeros_like(t)
    rng = np.random.default_rng(0)
    for s in range(1, int(seconds)):
        i = s * rate
        hits[i: i + 400] = rng.normal(0, 0.5, 400) * np.exp(-np.arange(400) / 80)
    return np.stack([tone + hits, tone + hits]).astype(np.float32), tone, hits


def _energy(x: np.ndarray) -> float:
    return float(np.sum(np.asarray(x, np.float64) ** 2))


def test_hpss_puts_the_hit_in_percussive_and_the_note_in_harmonic():
    mix, tone, hits = _click_and_tone()
    stems = load_separator("hpss").separate(mix, RATE)
    assert stems.names == ["harmonic", "percussive"]
    harm, perc = stems.stems["harmonic"][0], stems.stems["percussive"][0]
    # the note's energy stays in harmonic; around each hit, percussive holds the burst
    assert _energy(harm - tone) < 0.2 * _energy(tone)
    window = slice(RATE, RATE + 400)
    assert _energy(perc[window]) > 0.5 * _energy(hits[window])
    assert _energy(perc[window]) > 4 * _energy((harm - tone)[window])


@pytest.mark.parametrize("name", ["hpss", "hpss_residual", "repet", "centre", "midside"])
def test_every_classic_separator_sums_to_the_mix_with_live_masks(name, demo_audio):
    mix = demo_audio.samples[:, : 5 * RATE]
    separator = load_separator(name)
    records = list(separator.iter_separate(mix, RATE))
    blocks = [r.stems for r in records if r.stems is not None]
    masks = [r.masks for r in records if r.masks is not None]
    assert masks and all(m.masks.shape[0] == len(separator.stems) for m in masks)
    assert all(0.0 <= m.masks.min() and m.masks.max() <= 1.0 + 1e-6 for m in masks)
    stems = {s: np.concatenate([b.audio[s] for b in blocks], axis=-1) for s in separator.stems}
    total = sum(stems.values())
    assert total.shape == mix.shape
    assert np.abs(total - mix).max() < 1e-6
    # every stem gets something, and none is the whole mix
    for s, x in stems.items():
        assert 1e-4 * _energy(mix) < _energy(x) < 0.999 * _energy(mix), s


def test_a_long_chunked_run_matches_at_another_rate_and_in_mono(demo_audio):
    mono48 = demo_audio.samples[:1, : 3 * RATE]
    import soxr

    mono48 = soxr.resample(mono48.T, RATE, 48000).T.astype(np.float32)
    stems = load_separator("repet").separate(mono48, 48000)
    assert stems.stems["foreground"].shape == mono48.shape
    assert np.abs(stems.mix() - mono48).max() < 1e-6


def test_centre_extraction_refuses_mono_with_a_sentence(demo_audio):
    with pytest.raises(StemsplitError, match="needs a stereo recording"):
        load_separator("centre").separate(demo_audio.samples[:1, :RATE], RATE)


def test_centre_takes_what_is_panned_centre():
    # Panning separates sources that rarely share a time-frequency bin (the
    # method's assumption), like partials of two instruments in different keys.
    t = np.arange(3 * RATE) / RATE
    voice = sum(0.1 * np.sin(2 * np.pi * f * t) for f in (300, 700, 1500))   # dead centre
    guitar = sum(0.1 * np.sin(2 * np.pi * f * t) for f in (450, 1000, 2200))  # hard left
    mix = np.stack([voice + guitar, voice]).astype(np.float32)
    stems = load_separator("centre").separate(mix, RATE)
    centre, sides = stems.stems["centre"], stems.stems["sides"]
    inner = slice(RATE // 2, -RATE // 2)  # away from the song's edges
    for ch in (0, 1):
        assert _energy((centre[ch] - voice)[inner]) < 0.05 * _energy(voice[inner])
    assert _energy((sides[0] - guitar)[inner]) < 0.05 * _energy(guitar[inner])
    assert _energy(sides[1][inner]) < 0.05 * _energy(guitar[inner])


def test_cancel_stops_a_classic_run(demo_audio):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        list(load_separator("hpss").iter_separate(demo_audio.samples, RATE, cancel))


def test_classic_models_are_listed_as_installed_without_weights():
    names = {m.name for m in list_models()}
    assert {"hpss", "hpss_residual", "repet", "centre", "midside"} <= names
    info = get_model("repet")
    assert info.is_installed() and info.archive is None and "no weights" in info.licence


def test_the_wiener_post_filter_applies_to_classic_separators_too(demo_audio):
    from stemsplit.core.engine.separator import EngineOptions

    mix = demo_audio.samples[:, : 3 * RATE]
    plain = load_separator("repet").separate(mix, RATE)
    refined = load_separator("repet", options=EngineOptions(wiener_iterations=1)).separate(
        mix, RATE)
    assert np.abs(refined.mix() - mix).max() < 1e-5
    assert not np.allclose(refined.stems["foreground"], plain.stems["foreground"], atol=1e-4)
