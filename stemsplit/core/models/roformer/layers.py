"""The building blocks of both RoFormers (module names match the published checkpoints).

Shapes: ``b`` batch, ``n`` sequence (time frames or bands), ``d`` features,
``h`` heads. Written from the papers (Lu et al. 2023, Wang et al. 2023) and the
layout of the community checkpoints (ZFTurbo's Music-Source-Separation-Training),
so that their state dicts load without renaming.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    """``x / |x| * sqrt(d) * gamma`` over the last axis."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.scale = dim ** 0.5
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=-1) * self.scale * self.gamma


class RotaryEmbedding(nn.Module):
    """Rotary position embedding (Su et al.) on interleaved feature pairs.

    ``freqs`` is stored (the checkpoints carry it) though it is always
    ``10000 ** (-2i / d)``.
    """

    def __init__(self, dim: int, theta: float = 10000.0) -> None:
        super().__init__()
        freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: dim // 2].float() / dim))
        self.register_buffer("freqs", freqs)

    def rotate(self, t: torch.Tensor) -> torch.Tensor:
        """``(b, h, n, d)`` queries or keys, rotated by their position along ``n``."""
        n = t.shape[-2]
        pos = torch.arange(n, device=t.device, dtype=self.freqs.dtype)
        angles = torch.repeat_interleave(pos[:, None] * self.freqs[None], 2, dim=-1)  # (n, d)
        pairs = t.float().unflatten(-1, (-1, 2))
        half = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
        return (t.float() * angles.cos() + half * angles.sin()).to(t.dtype)


class Attention(nn.Module):
    """Multi-head self-attention with rotary positions and a sigmoid gate per head."""

    def __init__(self, dim: int, heads: int, dim_head: int,
                 rotary_embed: RotaryEmbedding | None = None) -> None:
        super().__init__()
        self.heads = heads
        inner = heads * dim_head
        self.rotary_embed = rotary_embed
        self.norm = RMSNorm(dim)
        self.to_qkv = nn.Linear(dim, inner * 3, bias=False)
        self.to_gates = nn.Linear(dim, heads)
        self.to_out = nn.Sequential(nn.Linear(inner, dim, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        b, n, _ = x.shape
        q, k, v = self.to_qkv(x).view(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        if self.rotary_embed is not None:
            q, k = self.rotary_embed.rotate(q), self.rotary_embed.rotate(k)
        out = F.scaled_dot_product_attention(q, k, v)                      # (b, h, n, d)
        out = out * self.to_gates(x).transpose(1, 2).unsqueeze(-1).sigmoid()
        return self.to_out(out.transpose(1, 2).reshape(b, n, -1))


class LinearAttention(nn.Module):
    """Cross-covariance attention (El-Nouby et al. 2021): attends over features, not positions.

    Used by configs with ``linear_transformer_depth > 0``.
    """

    def __init__(self, dim: int, heads: int, dim_head: int, scale: float = 8.0) -> None:
        super().__init__()
        inner = heads * dim_head
        self.heads, self.scale = heads, scale
        self.norm = RMSNorm(dim)
        self.to_qkv = nn.Sequential(nn.Linear(dim, inner * 3, bias=False))
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        # index 0 was a rearrangement in the original; an identity keeps the names
        self.to_out = nn.Sequential(nn.Identity(), nn.Linear(inner, dim, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        b, n, _ = x.shape
        q, k, v = self.to_qkv(x).view(b, n, 3, self.heads, -1).permute(2, 0, 3, 4, 1)
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)              # (b, h, dh, n)
        q = q * self.temperature.exp()
        out = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        return self.to_out(out.permute(0, 3, 1, 2).reshape(b, n, -1))


class FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int = 4) -> None:
        super().__init__()
        inner = dim * mult
        # indices 3 and 5 were dropouts in training; kept as identities so names match
        self.net = nn.Sequential(RMSNorm(dim), nn.Linear(dim, inner), nn.GELU(), nn.Identity(),
                                 nn.Linear(inner, dim), nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Transformer(nn.Module):
    """Pre-norm residual blocks of attention and feed-forward, with an optional final norm."""

    def __init__(self, dim: int, depth: int, heads: int, dim_head: int, norm_output: bool,
                 rotary_embed: RotaryEmbedding | None = None, linear: bool = False) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        for _ in range(depth):
            attn = LinearAttention(dim, heads, dim_head) if linear else \
                Attention(dim, heads, dim_head, rotary_embed)
            self.layers.append(nn.ModuleList([attn, FeedForward(dim)]))
        self.norm = RMSNorm(dim) if norm_output else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return self.norm(x)


class BandSplit(nn.Module):
    """``(b, t, sum(dims))`` -> ``(b, t, bands, dim)``: one RMSNorm + Linear per band."""

    def __init__(self, dim: int, dim_inputs: tuple[int, ...]) -> None:
        super().__init__()
        self.dim_inputs = dim_inputs
        self.to_features = nn.ModuleList(
            nn.Sequential(RMSNorm(d), nn.Linear(d, dim)) for d in dim_inputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = x.split(self.dim_inputs, dim=-1)
        return torch.stack([f(p) for p, f in zip(parts, self.to_features, strict=True)], dim=-2)


def mlp(dim_in: int, dim_out: int, dim_hidden: int, n_hidden: int) -> nn.Sequential:
    """Linear layers with tanh between them, ``n_hidden`` hidden layers."""
    dims = (dim_in, *((dim_hidden,) * n_hidden), dim_out)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class MaskEstimator(nn.Module):
    """``(b, t, bands, dim)`` -> ``(b, t, sum(dims))``: an MLP + GLU per band."""

    def __init__(self, dim: int, dim_inputs: tuple[int, ...], n_hidden: int,
                 expansion: int = 4) -> None:
        super().__init__()
        self.to_freqs = nn.ModuleList(
            nn.Sequential(mlp(dim, d * 2, dim * expansion, n_hidden), nn.GLU(dim=-1))
            for d in dim_inputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bands = x.unbind(dim=-2)
        return torch.cat([f(b) for b, f in zip(bands, self.to_freqs, strict=True)], dim=-1)
