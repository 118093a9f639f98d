"""Test helpers: demucs's own HTDemucs (the reference, a test-only dependency) and our port.

Random weights only (no pretrained weights may be downloaded here). LayerScale
factors start near zero in a fresh model (1e-3 / 1e-4), which would let the
DConv and transformer branches hide; they are drawn from [0.05, 0.3] instead so
every branch moves the output well above the comparison tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stemsplit.core.models.htdemucs.config import HTDemucsConfig
from stemsplit.core.models.htdemucs.model import HTDemucs

demucs_htdemucs = pytest.importorskip("demucs.htdemucs", reason="scripts/setup.sh --test "
                                      "installs the reference demucs package")


def reference_model(kwargs: dict, seed: int):
    """demucs's HTDemucs(**kwargs) with seeded random weights, in eval mode."""
    torch.manual_seed(seed)
    model = demucs_htdemucs.HTDemucs(**kwargs)
    gen = torch.Generator().manual_seed(seed + 1000)
    for name, param in model.named_parameters():
        if name.endswith(".scale"):
            param.data = 0.05 + 0.25 * torch.rand(param.shape, generator=gen)
    return model.eval()


def ported(reference) -> HTDemucs:
    """Our HTDemucs built from the same kwargs, with the reference's weights."""
    _, kwargs = reference._init_args_kwargs
    model = HTDemucs(HTDemucsConfig.from_kwargs(kwargs))
    model.load_state_dict(reference.state_dict(), strict=True)
    return model.eval()


def excerpt(audio, start_s: float, seconds: float) -> torch.Tensor:
    """``(2, n)`` float32 tensor: a stretch of a loaded song (44.1 kHz stereo)."""
    rate = audio.sample_rate
    assert rate == 44100 and audio.samples.shape[0] == 2
    a = int(start_s * rate)
    return torch.from_numpy(np.ascontiguousarray(audio.samples[:, a: a + int(seconds * rate)]))


TRACED = ("encoder", "tencoder", "crosstransformer", "decoder", "tdecoder")


class Trace:
    """Records the outputs of a model's layers (same names in demucs and in our port).

    The final output of a random-weight network is dominated by its outer
    layers; comparing every layer's output relative to its own size catches a
    wrong inner branch (the transformer, a DConv) that the output alone might hide.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        self.outputs: dict[str, list[torch.Tensor]] = {}
        self._handles = []
        for name, module in model.named_modules():
            parts = name.split(".")
            layer = parts[0] in TRACED[:2] + TRACED[3:] and len(parts) == 2
            if layer or name == "crosstransformer":
                self._handles.append(module.register_forward_hook(self._hook(name)))

    def _hook(self, name: str):
        def record(module, inputs, output) -> None:
            tensors = output if isinstance(output, tuple) else (output,)
            self.outputs.setdefault(name, []).extend(
                t.detach().clone() for t in tensors if isinstance(t, torch.Tensor))
        return record

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()


def worst_relative_difference(ours: Trace, theirs: Trace) -> tuple[str, float]:
    """The layer output that differs most, relative to its own peak."""
    assert ours.outputs.keys() == theirs.outputs.keys() and ours.outputs
    worst = ("", 0.0)
    for name, tensors in theirs.outputs.items():
        assert len(tensors) == len(ours.outputs[name]), name
        for mine, ref in zip(ours.outputs[name], tensors, strict=True):
            assert mine.shape == ref.shape, name
            rel = ((mine - ref).abs().max() / ref.abs().max().clamp_min(1e-12)).item()
            worst = max(worst, (name, rel), key=lambda item: item[1])
    return worst
