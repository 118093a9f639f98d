"""The STFT around a RoFormer network: audio chunk in, stem audio out.

Pure functions; the network (``model.Roformer``) only maps a spectrum to masks.
Shapes: ``B`` batch, ``C`` channels, ``L`` samples, ``S`` stems.
"""

from __future__ import annotations

import contextlib

import torch

from stemsplit.core.models.roformer.config import RoformerConfig
from stemsplit.core.models.roformer.model import Roformer


def _stft_args(config: RoformerConfig, device: torch.device) -> dict:
    return dict(n_fft=config.n_fft, hop_length=config.hop, win_length=config.win_length,
                window=torch.hann_window(config.win_length, device=device),
                normalized=config.normalized)


def to_spec(audio: torch.Tensor, config: RoformerConfig) -> torch.Tensor:
    """``(B, C, L)`` float32 -> ``(B, F*C, T, 2)`` (channels interleaved per bin)."""
    b, c, n = audio.shape
    spec = torch.stft(audio.reshape(b * c, n), **_stft_args(config, audio.device),
                      return_complex=True)                                   # (B*C, F, T)
    spec = torch.view_as_real(spec).reshape(b, c, *spec.shape[-2:], 2)
    return spec.transpose(1, 2).reshape(b, -1, spec.shape[-2], 2)


def separate_chunk(net: Roformer, audio: torch.Tensor,
                   autocast: contextlib.AbstractContextManager | None = None) -> torch.Tensor:
    """``(B, C, L)`` float32 -> ``(B, S, C, L)`` float32: the network's stems of one chunk.

    Args:
        autocast: a ``torch.autocast`` context for the network alone (the STFTs
            and the complex products stay in float32).
    """
    config = net.config
    b, c, n = audio.shape
    spec = to_spec(audio, config)
    with autocast or contextlib.nullcontext():
        masks = net(spec)                                                    # (B, S, F*C, T)
    stems = torch.view_as_complex(spec.contiguous())[:, None] * masks
    if config.zero_dc:
        stems[:, :, :c] = 0
    s, t = stems.shape[1], stems.shape[-1]
    stems = stems.reshape(b, s, config.bins, c, t).transpose(2, 3).reshape(b * s * c,
                                                                          config.bins, t)
    out = torch.istft(stems, **_stft_args(config, audio.device), length=n)
    return out.reshape(b, s, c, n)
