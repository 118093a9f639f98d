"""The port against the ``bs-roformer`` package (the reference), with random weights.

Real music (the MUSDB18 excerpt), both architectures, mono and stereo configs;
once for one network call, once for a whole song through the engine's chunked
overlap-add, rebuilt here from the reference's outputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stemsplit.core.engine.chunking import crossfade_weights, plan_chunks
from stemsplit.core.engine.separator import EngineOptions
from stemsplit.core.errors import Cancelled
from stemsplit.core.models.info import ModelInfo
from stemsplit.core.models.roformer.engine import RoformerSeparator
from stemsplit.core.models.roformer.mel import band_membership
from stemsplit.core.models.roformer.spec import separate_chunk
from tests.core.models.roformer._small import HOP, reference_and_weights, small_config

pytest.importorskip("bs_roformer")
stempeg = pytest.importorskip("stempeg")

TOL = 1e-4


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    """3 s of the MUSDB18 excerpt's mixture, ``(2, n)`` float32 at 44.1 kHz."""
    audio, rate = stempeg.read_stems(stempeg.example_stem_path(), stem_id=0, start=1.0,
                                     duration=3.0, dtype=np.float32)
    assert rate == 44100
    return np.ascontiguousarray(audio.T)


def _info(config, weights) -> ModelInfo:
    return ModelInfo(name="test-roformer", title="t", stems=config.stems,
                     load_weights=lambda: weights, is_installed=lambda: True,
                     family="roformer")


@pytest.mark.parametrize("n_fft,bands", [(2048, 60), (1024, 24), (4096, 128)])
def test_mel_bands_are_librosas(n_fft, bands):
    from bs_roformer import MelBandRoformer

    ref = MelBandRoformer(dim=8, depth=1, num_bands=bands, stft_n_fft=n_fft,
                          stft_win_length=n_fft, num_residual_streams=1)
    ours = torch.from_numpy(band_membership(44100, n_fft, bands))
    assert torch.equal(ours, ref.freqs_per_band)


@pytest.mark.parametrize("arch", ["bs", "mel"])
@pytest.mark.parametrize("stereo", [False, True])
def test_one_chunk_equals_the_reference(arch, stereo, music):
    config = small_config(arch=arch, stereo=stereo, num_stems=2, linear=int(arch == "mel"))
    ref, weights = reference_and_weights(config, seed=1)
    net = weights.build()
    x = torch.from_numpy(music[:, : HOP * 100] if stereo else music[:1, : HOP * 100])[None]
    with torch.inference_mode():
        expected = ref(x)                                                 # (1, S, C, L)
        got = separate_chunk(net, x)
    assert got.shape == expected.shape == (1, 2, x.shape[1], x.shape[-1])
    assert expected.abs().max() > 0.05  # random weights still pass real signal through
    assert (got - expected).abs().max().item() < TOL


@pytest.mark.slow
@pytest.mark.parametrize("arch,stereo", [("bs", False), ("mel", True)])
def test_song_through_the_engine_equals_the_reference_chunk_by_chunk(arch, stereo, music):
    """Overlap-add of the reference's chunks, cross-faded as planned, is the engine's output."""
    config = small_config(arch=arch, stereo=stereo, chunk_frames=40)
    ref, weights = reference_and_weights(config, seed=2)
    song = music[:, : int(1.1 * 44100)]
    options = EngineOptions(split_overlap=0.5, precision="fp32")
    sep = RoformerSeparator(_info(config, weights), device="cpu", options=options)
    records = []
    stems = sep.separate(song, 44100, on_progress=records.append)

    length = config.chunk_size
    chunks = plan_chunks(song.shape[1], length, length // 2)
    assert len(chunks) > 3 and records[-1].n_chunks == len(chunks)
    expected = np.zeros_like(song)
    for chunk in chunks:
        part = np.zeros((2, length), np.float32)
        real = song[:, chunk.start: chunk.start + length]
        part[:, : real.shape[1]] = real
        x = torch.from_numpy(part if stereo else part[:, None])
        with torch.inference_mode():
            out = ref(x[None] if stereo else x)  # mono: each channel is a batch item
        est = out[0].numpy() if stereo else out[:, 0].numpy()  # one stem: (2, L)
        est = est * crossfade_weights(chunk)
        end = min(chunk.start + length, song.shape[1])
        expected[:, chunk.start: end] += est[:, : end - chunk.start]
    assert stems.names == ["vocals", "other"]
    assert np.abs(stems.stems["vocals"] - expected).max() < TOL
    # the rest is the remainder: the stems sum to the input exactly
    assert np.abs(stems.mix() - song).max() < 1e-6
    blocks = [r.stems for r in records if r.stems is not None]
    assert sum(b.length for b in blocks) == song.shape[1]
    assert [b.start for b in blocks] == list(np.cumsum([0] + [b.length for b in blocks[:-1]]))
    masks = [r.masks for r in records if r.masks is not None]
    assert len(masks) >= len(chunks) - 1  # live: the masks come chunk by chunk
    assert all(m.masks.shape[0] == 2 and 0 <= m.masks.min() and m.masks.max() <= 1
               for m in masks)


def test_engine_resamples_takes_mono_and_cancels(music):
    config = small_config(arch="bs", stereo=True, chunk_frames=40)
    _, weights = reference_and_weights(config, seed=3)
    sep = RoformerSeparator(_info(config, weights), device="cpu",
                            options=EngineOptions(precision="fp32"))
    mono = music[:1, : 30000]
    stems = sep.separate(mono, 48000)
    assert {s.shape for s in stems.stems.values()} == {(1, 30000)}
    assert np.abs(stems.mix() - mono).max() < 1e-6
    import threading

    cancel = threading.Event()
    run = sep.iter_separate(music, 44100, cancel)
    next(run)
    next(run)
    cancel.set()
    with pytest.raises(Cancelled):
        list(run)


def test_bf16_stays_close_to_fp32(music):
    config = small_config(arch="mel", stereo=True, chunk_frames=40)
    _, weights = reference_and_weights(config, seed=4)
    song = music[:, : 17000]
    out = {}
    for precision in ("fp32", "bf16"):
        sep = RoformerSeparator(_info(config, weights), device="cpu",
                                options=EngineOptions(precision=precision))
        out[precision] = sep.separate(song, 44100).stems["vocals"]
    scale = np.abs(out["fp32"]).max()
    assert 0 < np.abs(out["bf16"] - out["fp32"]).max() < 0.1 * scale
