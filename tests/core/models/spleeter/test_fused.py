"""The inference rewrite of the U-Net (batch-norm folded, fused copies) and each precision.

The reference is ``UNet.forward`` as written (transposed convolutions, batch-norm
modules); quality is measured on the MUSDB18 excerpt that stempeg ships.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stemsplit.core.engine.precision import cpu_bf16_units
from stemsplit.core.engine.separator import EngineOptions
from stemsplit.core.models.registry import load_separator
from stemsplit.core.models.spleeter.fused import FusedStemUNets
from stemsplit.core.models.spleeter.unet import StemUNets, UNetConfig


def _random_nets(config: UNetConfig, stems: int, seed: int) -> StemUNets:
    """U-Nets with random weights *and* batch-norm statistics far from the identity, so
    every folded scale and shift (and every border correction) is exercised."""
    torch.manual_seed(seed)
    nets = StemUNets(stems, config).eval()
    with torch.no_grad():
        for module in nets.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.2, 1.5)
                module.bias.uniform_(-1, 1)
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.2, 2)
    return nets


@pytest.mark.parametrize("config", [
    UNetConfig(),                                                   # 2 stems
    UNetConfig(encoder_activation="elu", decoder_activation="elu"),  # 4 stems
    UNetConfig(encoder_activation="elu", decoder_activation="elu", sigmoid_head=False),
], ids=["leaky-relu", "elu", "softmax"])
def test_fused_fp32_equals_the_reference_unet(config):
    nets = _random_nets(config, 2, seed=3)
    mag = torch.rand(1, 2, 64, 128) ** 3 * 4
    with torch.inference_mode():
        expected = nets(mag)
        got = FusedStemUNets(nets, torch.float32, torch.device("cpu"))(mag)
    assert got.dtype == torch.float32 and got.shape == expected.shape
    # the edges too: there zero padding meets the folded batch-norm shifts
    for edge in (got[..., 0, :] - expected[..., 0, :], got[..., :, -1] - expected[..., :, -1]):
        assert edge.abs().max() < 1e-4
    assert (got - expected).abs().max() < 1e-4


def test_bf16_network_agrees_with_fp32():
    nets = _random_nets(UNetConfig(), 2, seed=4)
    mag = torch.rand(2, 2, 64, 128) ** 3 * 4
    with torch.inference_mode():
        fp32 = FusedStemUNets(nets, torch.float32, torch.device("cpu"))(mag)
        bf16 = FusedStemUNets(nets, torch.bfloat16, torch.device("cpu"))(mag)
    assert bf16.dtype == torch.float32  # the head runs fp32: masks are not rounded to bf16
    diff = (bf16 - fp32).abs()
    assert diff.mean() < 2e-3 and diff.max() < 0.1
    assert (bf16 - fp32).abs().max() > 0  # it did run in bf16


@pytest.mark.slow
def test_each_precision_keeps_musdb_quality_and_sum_to_mix(separator):
    """auto (bf16 where native) and the other precision on the MUSDB excerpt: SDR of each
    stem within 0.05 dB of fp32, stems summing to the mix."""
    from benchmarks.musdb import load_musdb_excerpt, sdr

    assert separator.precision.name == ("bf16" if cpu_bf16_units() else "fp32")
    other = "fp32" if separator.precision.name == "bf16" else "bf16"  # bf16 emulated there
    truth, rate = load_musdb_excerpt()
    mix = truth["mixture"]
    scores = {}
    for sep in (separator, load_separator(device="cpu", options=EngineOptions(precision=other))):
        stems = sep.separate(mix, rate)
        # the last stem is the mix minus the others: exact up to one float32 rounding
        assert np.abs(stems.mix() - mix).max() <= 1e-6
        scores[sep.precision.name] = {s: sdr(truth[s], stems.stems[s]) for s in stems.names}
    print("SDR", scores)
    for stem, value in scores["fp32"].items():
        assert value > 3  # a real separation
        assert abs(scores["bf16"][stem] - value) < 0.05, stem
