"""The cross-domain transformer between HT-Demucs's two encoders.

Follows demucs's ``transformer.py`` (MIT code), inference only. Layers
alternate between self-attention within each branch and cross-attention where
the spectrogram tokens attend to the waveform tokens and vice versa. Parameter
names match demucs's ``state_dict`` (``layers.0.self_attn.in_proj_weight``,
``layers_t.1.cross_attn.out_proj.weight``, ``gamma_1.scale``, ...).

Tokens are ``(B, N, C)``: the spectrogram branch's ``(B, C, F, T)`` becomes
``N = T * F`` tokens (frequency fastest), the waveform branch's ``(B, C, L)``
becomes ``N = L`` tokens.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from stemsplit.core.models.htdemucs.config import HTDemucsConfig
from stemsplit.core.models.htdemucs.layers import LayerScale

# -- positional embeddings ------------------------------------------------------------------


def sin_embedding(length: int, dim: int, device: torch.device, max_period: float = 10000.0,
                  centred: bool = False) -> torch.Tensor:
    """1-D sinusoidal embedding: cos then sin halves, ``(1, length, dim)``.

    Frequencies are ``max_period ** (-i / (dim / 2 - 1))``. ``centred`` subtracts
    the mean position first (CAPE's mean normalisation, without its training-time
    jitter).
    """
    pos = torch.arange(length, device=device, dtype=torch.float32)
    if centred:
        pos = pos - pos.mean()
    half = dim // 2
    rates = max_period ** (torch.arange(half, device=device) / (half - 1))
    phase = pos[:, None] / rates[None, :]
    return torch.cat([torch.cos(phase), torch.sin(phase)], dim=-1)[None]


def sin_embedding_2d(dim: int, height: int, width: int, device: torch.device,
                     max_period: float = 10000.0) -> torch.Tensor:
    """2-D sinusoidal embedding of a ``height x width`` grid, ``(1, width * height, dim)``.

    The first half of the channels encodes the width (time) position, the
    second half the height (frequency) position, each as interleaved sin/cos.
    Tokens are ordered width-major (``t * height + f``), as the spectrogram
    branch flattens its ``(F, T)`` grid.
    """
    if dim % 4:
        raise ValueError(f"the 2-D embedding needs a multiple of 4 channels, got {dim}")
    half = dim // 2
    div = torch.exp(torch.arange(0.0, half, 2) * -(math.log(max_period) / half))
    pos_w = torch.arange(0.0, width)[:, None] * div      # (W, half/2)
    pos_h = torch.arange(0.0, height)[:, None] * div     # (H, half/2)
    pe = torch.zeros(width, height, dim)
    pe[:, :, 0:half:2] = torch.sin(pos_w)[:, None, :]
    pe[:, :, 1:half:2] = torch.cos(pos_w)[:, None, :]
    pe[:, :, half::2] = torch.sin(pos_h)[None, :, :]
    pe[:, :, half + 1::2] = torch.cos(pos_h)[None, :, :]
    return pe.reshape(1, width * height, dim).to(device)


# -- attention and layers -------------------------------------------------------------------


class Attention(nn.Module):
    """Multi-head attention with packed input projections (``nn.MultiheadAttention``'s names).

    Shapes: query ``(B, Nq, C)``, key/value ``(B, Nk, C)`` -> ``(B, Nq, C)``.
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        b, nq, c = query.shape
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        if query is key:
            q, k, v = F.linear(query, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        else:
            q = F.linear(query, w_q, b_q)
            k, v = F.linear(key, torch.cat([w_k, w_v]), torch.cat([b_k, b_v])).chunk(2, dim=-1)

        def heads(t: torch.Tensor) -> torch.Tensor:  # (B, N, C) -> (B, H, N, C / H)
            return t.unflatten(-1, (self.heads, c // self.heads)).transpose(1, 2)

        out = F.scaled_dot_product_attention(heads(q), heads(k), heads(v))
        return self.out_proj(out.transpose(1, 2).reshape(b, nq, c))


class TokenGroupNorm(nn.GroupNorm):
    """GroupNorm over ``(B, N, C)`` tokens: with one group, over all tokens and channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


def _token_norm(group: bool, dim: int, eps: float = 1e-5) -> nn.Module:
    return TokenGroupNorm(1, dim, eps=eps) if group else nn.LayerNorm(dim, eps=eps)


class TransformerLayer(nn.Module):
    """Self-attention (``cross=False``) or cross-attention layer with a GELU/ReLU FFN.

    ``norm_first``: ``x + g1 * attn(norm1(x)[, norm2(k)])``, then
    ``x + g2 * ffn(norm(x))``, then the optional one-group ``norm_out``;
    otherwise post-norm. ``g1``/``g2`` are LayerScales (init irrelevant here:
    loaded from the checkpoint).

    Shapes: ``x (B, N, C)``, ``k (B, M, C)`` (cross only) -> ``(B, N, C)``.
    """

    def __init__(self, dim: int, heads: int, hidden: int, cross: bool, gelu: bool,
                 group_norm: bool, norm_first: bool, norm_out: bool, layer_scale: bool) -> None:
        super().__init__()
        self.cross, self.norm_first = cross, norm_first
        self.activation = F.gelu if gelu else F.relu
        attention = Attention(dim, heads)
        if cross:
            self.cross_attn = attention
        else:
            self.self_attn = attention
        self.linear1 = nn.Linear(dim, hidden)
        self.linear2 = nn.Linear(hidden, dim)
        self.norm1 = _token_norm(group_norm, dim)
        self.norm2 = _token_norm(group_norm, dim)
        if cross:
            self.norm3 = _token_norm(group_norm, dim)
        self.norm_out = TokenGroupNorm(1, dim) if norm_first and norm_out else None
        self.gamma_1 = LayerScale(dim, 1e-4, True) if layer_scale else nn.Identity()
        self.gamma_2 = LayerScale(dim, 1e-4, True) if layer_scale else nn.Identity()

    def _ffn(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.activation(self.linear1(x)))

    def forward(self, x: torch.Tensor, k: torch.Tensor | None = None) -> torch.Tensor:
        attention = self.cross_attn if self.cross else self.self_attn
        if self.norm_first:
            if self.cross:
                x = x + self.gamma_1(attention(self.norm1(x), self.norm2(k)))
                x = x + self.gamma_2(self._ffn(self.norm3(x)))
            else:
                h = self.norm1(x)
                x = x + self.gamma_1(attention(h, h))
                x = x + self.gamma_2(self._ffn(self.norm2(x)))
            if self.norm_out is not None:
                x = self.norm_out(x)
            return x
        x = self.norm1(x + self.gamma_1(attention(x, k if self.cross else x)))
        return self.norm2(x + self.gamma_2(self._ffn(x)))


class ScaledPositions(nn.Module):
    """Learnt positions (``t_emb="scaled"``), read at ``boost`` times the stored size."""

    def __init__(self, positions: int, dim: int, boost: float = 3.0) -> None:
        super().__init__()
        self.embedding = nn.Embedding(positions, dim)
        self.boost = boost

    def forward(self, length: int, device: torch.device) -> torch.Tensor:
        return self.embedding(torch.arange(length, device=device))[None] * self.boost


class CrossTransformer(nn.Module):
    """Alternating self/cross attention over the two branches (demucs ``CrossTransformerEncoder``).

    Args:
        dim: channels of both branches' tokens.
        config: the model's ``t_*`` switches.

    Shapes: ``x (B, C, F, T)`` spectrogram features, ``xt (B, C, L)`` waveform
    features -> the same shapes.
    """

    def __init__(self, dim: int, config: HTDemucsConfig) -> None:
        super().__init__()
        if dim % config.t_heads:
            raise ValueError(f"{dim} channels do not split into {config.t_heads} heads")
        self.emb, self.max_period = config.t_emb, config.t_max_period
        self.weight_pos_embed = config.t_weight_pos_embed
        self.cape_mean_normalize = config.t_cape_mean_normalize
        self.classic_parity = 1 if config.t_cross_first else 0
        if config.t_emb == "scaled":
            self.position_embeddings = ScaledPositions(config.t_max_positions, dim)
        if config.t_norm_in:
            self.norm_in: nn.Module = nn.LayerNorm(dim)
            self.norm_in_t: nn.Module = nn.LayerNorm(dim)
        elif config.t_norm_in_group:
            self.norm_in, self.norm_in_t = TokenGroupNorm(1, dim), TokenGroupNorm(1, dim)
        else:
            self.norm_in, self.norm_in_t = nn.Identity(), nn.Identity()
        common = dict(dim=dim, heads=config.t_heads, hidden=int(dim * config.t_hidden_scale),
                      gelu=config.t_gelu, group_norm=config.t_group_norm,
                      norm_first=config.t_norm_first, norm_out=config.t_norm_out,
                      layer_scale=config.t_layer_scale)
        self.layers = nn.ModuleList()
        self.layers_t = nn.ModuleList()
        for index in range(config.t_layers):
            cross = index % 2 != self.classic_parity
            self.layers.append(TransformerLayer(cross=cross, **common))
            self.layers_t.append(TransformerLayer(cross=cross, **common))

    def _time_positions(self, length: int, dim: int, device: torch.device) -> torch.Tensor:
        if self.emb == "scaled":
            return self.position_embeddings(length, device)
        return sin_embedding(length, dim, device, self.max_period,
                             centred=self.emb == "cape" and self.cape_mean_normalize)

    def forward(self, x: torch.Tensor, xt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, c, fr, t1 = x.shape
        x = x.permute(0, 3, 2, 1).reshape(b, t1 * fr, c)               # (B, T*F, C)
        x = self.norm_in(x)
        x = x + self.weight_pos_embed * sin_embedding_2d(c, fr, t1, x.device, self.max_period)
        xt = xt.transpose(1, 2)                                        # (B, L, C)
        xt = self.norm_in_t(xt)
        xt = xt + self.weight_pos_embed * self._time_positions(xt.shape[1], c, x.device)
        for layer, layer_t in zip(self.layers, self.layers_t, strict=True):
            if layer.cross:
                x, xt = layer(x, xt), layer_t(xt, x)
            else:
                x, xt = layer(x), layer_t(xt)
        x = x.reshape(b, t1, fr, c).permute(0, 3, 2, 1)
        return x, xt.transpose(1, 2)
