"""HT-Demucs building blocks: encoder/decoder layers, the DConv branch, LayerScale.

Follows demucs's ``hdemucs.py``/``demucs.py`` (MIT code). Parameter names match
demucs's ``state_dict`` keys (``conv``, ``norm1``, ``rewrite``, ``dconv.layers.0.0``,
...) so a demucs checkpoint loads with ``load_state_dict`` unchanged.

Shapes: the frequency branch works on ``(B, C, F, T)`` (F frequency rows, T STFT
frames) and convolves along F only; the time branch works on ``(B, C, L)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LayerScale(nn.Module):
    """A learnt per-channel scale of a residual branch (Touvron et al. 2021).

    Args:
        channels: size of the scaled axis.
        init: starting value of every scale.
        channel_last: scale the last axis (``(B, T, C)`` tokens) instead of axis 1
            (``(B, C, T)``).
    """

    def __init__(self, channels: int, init: float = 0.0, channel_last: bool = False) -> None:
        super().__init__()
        self.channel_last = channel_last
        self.scale = nn.Parameter(torch.full((channels,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x if self.channel_last else self.scale[:, None] * x


class DConv(nn.Module):
    """Residual branches of dilated 1-D convolutions along time.

    Each of ``depth`` branches: conv k=3 (dilation 2**d) to ``channels / compress``
    -> GroupNorm(1) -> GELU -> 1x1 conv to ``2 * channels`` -> GroupNorm(1) -> GLU
    -> LayerScale, added to its input. (demucs's optional LSTM and local-attention
    inserts are never switched on by HT-Demucs and are not implemented.)

    Args:
        channels: input/output channels.
        compress: channel reduction inside a branch.
        depth: number of branches; dilation grows as 1, 2, 4, ... (constant 1
            when ``depth`` is negative, as in demucs).
        init: LayerScale start value.
        gelu: GELU (else ReLU) after the first convolution.

    Shape: ``(N, channels, T) -> (N, channels, T)``.
    """

    def __init__(self, channels: int, compress: float = 4, depth: int = 2, init: float = 1e-4,
                 gelu: bool = True, kernel: int = 3) -> None:
        super().__init__()
        hidden = int(channels / compress)
        dilate = depth > 0
        self.layers = nn.ModuleList()
        for d in range(abs(depth)):
            dilation = 2 ** d if dilate else 1
            self.layers.append(nn.Sequential(
                nn.Conv1d(channels, hidden, kernel, dilation=dilation,
                          padding=dilation * (kernel // 2)),
                nn.GroupNorm(1, hidden),
                nn.GELU() if gelu else nn.ReLU(),
                nn.Conv1d(hidden, 2 * channels, 1),
                nn.GroupNorm(1, 2 * channels),
                nn.GLU(1),
                LayerScale(channels, init),
            ))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for branch in self.layers:
            x = x + branch(x)
        return x


def _norm(use: bool, groups: int, channels: int) -> nn.Module:
    return nn.GroupNorm(groups, channels) if use else nn.Identity()


def _dconv_over_time(dconv: DConv, y: torch.Tensor, freq: bool) -> torch.Tensor:
    """Run a DConv along time, each frequency row of ``(B, C, F, T)`` on its own."""
    if not freq:
        return dconv(y)
    b, c, fr, t = y.shape
    out = dconv(y.permute(0, 2, 1, 3).reshape(b * fr, c, t))
    return out.view(b, fr, c, t).permute(0, 2, 1, 3)


class EncoderLayer(nn.Module):
    """One encoder layer of either branch (demucs ``HEncLayer``).

    strided conv -> [+ injected time branch] -> norm -> GELU -> [DConv]
    -> [rewrite conv -> norm -> GLU].

    Args:
        chin, chout: channels in and out.
        kernel_size, stride: along frequency (``freq``) or time.
        norm_groups, norm: GroupNorm switch and groups.
        empty: only the strided conv (the time layer whose output joins the
            frequency branch).
        freq: the frequency branch (2-D convs with ``[k, 1]`` kernels).
        dconv: add the DConv residual branch; ``dconv_kw`` its arguments.
        context: half-width of the rewrite conv.
        pad: pad by ``kernel_size // 4`` so the output is the input / stride.
        rewrite: add the rewrite conv + GLU.

    Shapes: freq ``(B, chin, F, T) -> (B, chout, F / stride, T)``; time
    ``(B, chin, L) -> (B, chout, ceil(L / stride))``.
    """

    def __init__(self, chin: int, chout: int, kernel_size: int = 8, stride: int = 4,
                 norm_groups: int = 1, empty: bool = False, freq: bool = True,
                 dconv: bool = True, norm: bool = True, context: int = 0,
                 dconv_kw: dict | None = None, pad: bool = True, rewrite: bool = True) -> None:
        super().__init__()
        padding = kernel_size // 4 if pad else 0
        self.freq, self.stride, self.empty = freq, stride, empty
        if freq:
            self.conv: nn.Module = nn.Conv2d(chin, chout, (kernel_size, 1), (stride, 1),
                                             (padding, 0))
        else:
            self.conv = nn.Conv1d(chin, chout, kernel_size, stride, padding)
        if empty:
            return
        self.norm1 = _norm(norm, norm_groups, chout)
        self.rewrite: nn.Module | None = None
        if rewrite:
            klass = nn.Conv2d if freq else nn.Conv1d
            self.rewrite = klass(chout, 2 * chout, 1 + 2 * context, 1, context)
            self.norm2 = _norm(norm, norm_groups, 2 * chout)
        self.dconv = DConv(chout, **(dconv_kw or {})) if dconv else None

    def forward(self, x: torch.Tensor, inject: torch.Tensor | None = None) -> torch.Tensor:
        """``inject``: the time branch's ``(B, chout, T)`` added when the branches merge."""
        if not self.freq:
            if x.dim() == 4:
                x = x.reshape(x.shape[0], -1, x.shape[-1])
            rest = x.shape[-1] % self.stride
            if rest:
                x = F.pad(x, (0, self.stride - rest))
        y = self.conv(x)
        if self.empty:
            return y
        if inject is not None:
            if inject.dim() == 3 and y.dim() == 4:
                inject = inject[:, :, None]
            y = y + inject
        y = F.gelu(self.norm1(y))
        if self.dconv is not None:
            y = _dconv_over_time(self.dconv, y, self.freq)
        if self.rewrite is not None:
            y = F.glu(self.norm2(self.rewrite(y)), dim=1)
        return y


class DecoderLayer(nn.Module):
    """One decoder layer of either branch (demucs ``HDecLayer``).

    [+ skip -> rewrite conv -> norm -> GLU -> DConv] -> transposed conv -> norm
    -> crop -> GELU (not after the last layer).

    Args: as :class:`EncoderLayer`, plus ``last`` (no GELU at the end) and
    ``context_freq`` (rewrite conv also spans frequencies; always true here).

    Shapes: freq ``(B, chin, F, T) -> (B, chout, F * stride, T)``; time
    ``(B, chin, L) -> (B, chout, length)``.
    """

    def __init__(self, chin: int, chout: int, last: bool = False, kernel_size: int = 8,
                 stride: int = 4, norm_groups: int = 1, empty: bool = False, freq: bool = True,
                 dconv: bool = True, norm: bool = True, context: int = 1,
                 dconv_kw: dict | None = None, pad: bool = True, rewrite: bool = True) -> None:
        super().__init__()
        self.pad = kernel_size // 4 if pad else 0
        self.last, self.freq, self.chin, self.empty = last, freq, chin, empty
        if freq:
            self.conv_tr: nn.Module = nn.ConvTranspose2d(chin, chout, (kernel_size, 1),
                                                         (stride, 1))
        else:
            self.conv_tr = nn.ConvTranspose1d(chin, chout, kernel_size, stride)
        self.norm2 = _norm(norm, norm_groups, chout)
        if empty:
            return
        self.rewrite: nn.Module | None = None
        if rewrite:
            klass = nn.Conv2d if freq else nn.Conv1d
            self.rewrite = klass(chin, 2 * chin, 1 + 2 * context, 1, context)
            self.norm1 = _norm(norm, norm_groups, 2 * chin)
        self.dconv = DConv(chin, **(dconv_kw or {})) if dconv else None

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None,
                length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns the layer's output and its input to the transposed conv.

        The second is what the time branch continues from when an ``empty``
        time layer split off here.
        """
        if self.freq and x.dim() == 3:
            x = x.view(x.shape[0], self.chin, -1, x.shape[-1])
        if self.empty:
            y = x
        else:
            y = x + skip
            if self.rewrite is not None:
                y = F.glu(self.norm1(self.rewrite(y)), dim=1)
            if self.dconv is not None:
                y = _dconv_over_time(self.dconv, y, self.freq)
        z = self.norm2(self.conv_tr(y))
        if self.freq:
            if self.pad:
                z = z[..., self.pad: -self.pad, :]
        else:
            z = z[..., self.pad: self.pad + length]
        if not self.last:
            z = F.gelu(z)
        return z, y


class FrequencyEmbedding(nn.Module):
    """A learnt embedding per frequency row, read at ``scale`` times its stored size.

    demucs stores ``weight / scale`` (a learning-rate trick); the forward multiplies
    back. Parameter name ``embedding.weight`` as in demucs's ``ScaledEmbedding``.

    Shape: ``(F,)`` row indices -> ``(F, dim)``.
    """

    def __init__(self, rows: int, dim: int, scale: float = 10.0) -> None:
        super().__init__()
        self.embedding = nn.Embedding(rows, dim)
        self.scale = scale

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return self.embedding(rows) * self.scale
