"""The ``bs-roformer`` package (test-only reference) set up to match a community config.

The package (1.2.4) has grown options that no published checkpoint uses: hyper-
connections (``num_residual_streams``; 1 turns them off), value residuals
(Mel-Band: ``add_value_residual=False``; BS-RoFormer: always on after the first
layer, so its mixing gate is switched off through its weights: a bias of -1e4
makes ``sigmoid`` exactly 0, i.e. ``lerp(v, v_first, 0) = v``). Its state dict
then maps onto stemsplit's module by dropping the ``.branch`` wrapper (and, for a
Mel-Band model without linear attention, the empty first slot of each layer, which
the published checkpoints do not have).
"""

from __future__ import annotations

import re

import torch

from stemsplit.core.models.roformer.config import BS, RoformerConfig


def reference_model(config: RoformerConfig) -> torch.nn.Module:
    from bs_roformer import BSRoformer, MelBandRoformer

    common = dict(dim=config.dim, depth=config.depth, stereo=config.stereo,
                  num_stems=config.num_stems,
                  time_transformer_depth=config.time_transformer_depth,
                  freq_transformer_depth=config.freq_transformer_depth,
                  dim_head=config.dim_head, heads=config.heads, attn_dropout=0.0,
                  ff_dropout=0.0, stft_n_fft=config.n_fft, stft_hop_length=config.hop,
                  stft_win_length=config.win_length, stft_normalized=config.normalized,
                  mask_estimator_depth=config.mask_estimator_depth, num_residual_streams=1)
    if config.arch == BS:
        model = BSRoformer(freqs_per_bands=config.freqs_per_bands, **common)
    else:
        model = MelBandRoformer(num_bands=config.num_bands, sample_rate=config.sample_rate,
                                linear_transformer_depth=config.linear_transformer_depth,
                                add_value_residual=False, **common)
    return model.eval()


def randomise(model: torch.nn.Module, seed: int) -> None:
    """Random weights everywhere (RMSNorm gains too), value-residual gates closed."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("rotary_embed.freqs"):
                continue
            if "value_residual_mix" in name:
                p.copy_(torch.zeros_like(p) if name.endswith("weight")
                        else torch.full_like(p, -1e4))
                continue
            scale = 0.2 if p.ndim < 2 else 1.0 / p.shape[-1] ** 0.5
            base = 1.0 if name.endswith("gamma") else 0.0
            p.copy_(base + scale * torch.randn(p.shape, generator=gen))


def our_state(reference: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The reference's weights under stemsplit's (the checkpoints') names."""
    empty_first = reference.layers[0][0] is None
    out = {}
    for key, value in reference.state_dict().items():
        if "value_residual_mix" in key:
            continue
        key = key.replace(".branch.", ".")
        if empty_first:
            key = re.sub(r"^layers\.(\d+)\.(\d+)\.",
                         lambda m: f"layers.{m[1]}.{int(m[2]) - 1}.", key)
        out[key] = value
    return out
