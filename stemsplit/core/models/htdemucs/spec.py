"""STFT and inverse STFT as HT-Demucs frames them (follows demucs ``spec.py``/``htdemucs.py``).

The network wants exactly ``ceil(length / hop)`` frames for a signal of
``length`` samples, with hop = nfft / 4, so that the frequency branch lines up
with the strided time branch. That is arranged by reflect-padding the signal by
1.5 hops on each side (plus up to a hop to round up), taking a centred,
``normalized`` STFT with a periodic Hann window, dropping the Nyquist bin and
the two extra frames at each end. The inverse undoes every step.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def pad1d_reflect(x: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """Reflect-pad the last axis, even when it is shorter than the padding.

    ``F.pad(mode="reflect")`` needs more samples than the padding; like demucs,
    a too-short signal first gets zeros on the right (then the left) so the
    reflection has enough to mirror.

    Args:
        x: ``(..., length)``.

    Returns:
        ``(..., left + length + right)``; the middle is ``x`` unchanged.
    """
    length = x.shape[-1]
    longest = max(left, right)
    if length <= longest:
        extra = longest - length + 1
        extra_right = min(right, extra)
        extra_left = extra - extra_right
        left, right = left - extra_left, right - extra_right
        x = F.pad(x, (extra_left, extra_right))
    shape = x.shape
    out = F.pad(x.reshape(-1, 1, shape[-1]), (left, right), mode="reflect")
    return out.reshape(*shape[:-1], out.shape[-1])


def _window(n_fft: int, like: torch.Tensor) -> torch.Tensor:
    return torch.hann_window(n_fft, device=like.device, dtype=like.dtype)


def spectrogram(x: torch.Tensor, nfft: int) -> torch.Tensor:
    """The model's complex spectrogram of a waveform.

    Args:
        x: ``(B, C, L)`` float waveform.
        nfft: FFT size; the hop is ``nfft // 4``.

    Returns:
        ``(B, C, nfft // 2, ceil(L / hop))`` complex; the Nyquist bin is dropped.
    """
    hop = nfft // 4
    *lead, length = x.shape
    frames = math.ceil(length / hop)
    pad = hop // 2 * 3
    padded = pad1d_reflect(x, pad, pad + frames * hop - length)
    flat = padded.reshape(-1, padded.shape[-1])
    z = torch.stft(flat, nfft, hop, window=_window(nfft, flat), win_length=nfft,
                   normalized=True, center=True, return_complex=True, pad_mode="reflect")
    z = z.reshape(*lead, *z.shape[-2:])
    # frames + 4 frames come out: two extra at each end, from the 1.5-hop padding.
    return z[..., :-1, 2: 2 + frames]


def inverse_spectrogram(z: torch.Tensor, length: int) -> torch.Tensor:
    """Waveform of a spectrogram made by :func:`spectrogram`.

    Args:
        z: ``(..., nfft // 2, frames)`` complex.
        length: samples wanted (at most ``frames * hop``).

    Returns:
        ``(..., length)`` float.
    """
    bins = z.shape[-2]
    nfft = 2 * bins
    hop = nfft // 4
    z = F.pad(z, (2, 2, 0, 1))  # the Nyquist bin back (zero), two frames at each end
    pad = hop // 2 * 3
    full = hop * math.ceil(length / hop) + 2 * pad
    *lead, freqs, frames = z.shape
    flat = z.reshape(-1, freqs, frames)
    x = torch.istft(flat, nfft, hop, window=_window(nfft, flat.real), win_length=nfft,
                    normalized=True, length=full, center=True)
    return x.reshape(*lead, full)[..., pad: pad + length]
