"""The RoFormer network: band split, axial transformers over time and band, mask estimation.

One class serves both architectures; they differ only in how bins form bands:
BS-RoFormer cuts the spectrum into consecutive bands (``freqs_per_bands``),
Mel-Band RoFormer into overlapping mel bands whose masks are averaged where
bands overlap. The STFT around the network lives in ``spec``.

Shapes: ``B`` batch, ``C`` audio channels, ``F`` bins, ``T`` frames, ``S`` stems;
the spectrum is laid out ``(B, F*C, T, 2)``: real/imaginary last, channels
interleaved bin by bin (bin 0 left, bin 0 right, bin 1 left, ...).
"""

from __future__ import annotations

import torch
from torch import nn

from stemsplit.core.models.roformer.config import BS, RoformerConfig
from stemsplit.core.models.roformer.layers import (
    BandSplit,
    MaskEstimator,
    RMSNorm,
    RotaryEmbedding,
    Transformer,
)
from stemsplit.core.models.roformer.mel import band_membership


class Roformer(nn.Module):
    """BS-RoFormer or Mel-Band RoFormer, as ``config.arch`` says."""

    def __init__(self, config: RoformerConfig) -> None:
        super().__init__()
        self.config = c = config
        channels = c.channels
        if c.arch == BS:
            band_bins = c.freqs_per_bands
            self.freq_indices = None
        else:
            member = torch.from_numpy(band_membership(c.sample_rate, c.n_fft, c.num_bands))
            bins = torch.arange(c.bins).expand(c.num_bands, -1)[member]   # band by band
            idx = (bins[:, None] * channels + torch.arange(channels)).reshape(-1)
            self.register_buffer("freq_indices", idx, persistent=False)
            per_bin = member.sum(dim=0).repeat_interleave(channels).float()
            self.register_buffer("bands_per_bin", per_bin, persistent=False)
            band_bins = tuple(member.sum(dim=1).tolist())
        dims = tuple(2 * f * channels for f in band_bins)
        time_rotary = RotaryEmbedding(c.dim_head)
        freq_rotary = RotaryEmbedding(c.dim_head)
        # BS-RoFormer normalises once after the last layer; Mel-Band after every transformer
        norm_each = c.arch != BS
        kw = dict(dim=c.dim, heads=c.heads, dim_head=c.dim_head, norm_output=norm_each)
        self.layers = nn.ModuleList()
        for _ in range(c.depth):
            block = []
            if c.linear_transformer_depth:
                block.append(Transformer(depth=c.linear_transformer_depth, linear=True, **kw))
            block.append(Transformer(depth=c.time_transformer_depth, rotary_embed=time_rotary,
                                     **kw))
            block.append(Transformer(depth=c.freq_transformer_depth, rotary_embed=freq_rotary,
                                     **kw))
            self.layers.append(nn.ModuleList(block))
        if c.arch == BS:
            self.final_norm = RMSNorm(c.dim)
        self.band_split = BandSplit(c.dim, dims)
        # BS-RoFormer's MLP has depth - 1 hidden layers, Mel-Band's depth (as published)
        hidden = c.mask_estimator_depth - 1 if c.arch == BS else c.mask_estimator_depth
        self.mask_estimators = nn.ModuleList(
            MaskEstimator(c.dim, dims, hidden, c.mlp_expansion_factor)
            for _ in range(c.num_stems))

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """``(B, F*C, T, 2)`` real spectrum -> ``(B, S, F*C, T)`` complex64 masks."""
        b, _, t, _ = spec.shape
        x = spec if self.freq_indices is None else spec[:, self.freq_indices]
        x = self.band_split(x.transpose(1, 2).reshape(b, t, -1))              # (B, T, K, D)
        k = x.shape[2]
        store: list[torch.Tensor] = []
        for block in self.layers:
            if len(block) == 3:
                x = block[0](x.reshape(b, t * k, -1)).reshape(b, t, k, -1)
            if self.config.skip_connection:
                for earlier in store:
                    x = x + earlier
            time_tf, freq_tf = block[-2], block[-1]
            x = x.transpose(1, 2).reshape(b * k, t, -1)                        # along time
            x = time_tf(x).reshape(b, k, t, -1).transpose(1, 2).reshape(b * t, k, -1)
            x = freq_tf(x).reshape(b, t, k, -1)                                # along bands
            if self.config.skip_connection:
                store.append(x)
        if self.config.arch == BS:
            x = self.final_norm(x)
        masks = torch.stack([est(x) for est in self.mask_estimators], dim=1)  # (B, S, T, 2F')
        masks = masks.float().unflatten(-1, (-1, 2)).transpose(2, 3)           # (B, S, F', T, 2)
        masks = torch.view_as_complex(masks.contiguous())
        if self.freq_indices is None:
            return masks
        # overlapping mel bands: average the masks each bin received
        summed = masks.new_zeros(b, masks.shape[1], spec.shape[1], t)
        index = self.freq_indices[None, None, :, None].expand(b, masks.shape[1], -1, t)
        summed.scatter_add_(2, index, masks)
        return summed / self.bands_per_bin.clamp(min=1e-8)[:, None]
