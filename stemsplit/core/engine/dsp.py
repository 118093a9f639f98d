"""STFT, masks and band extension: pure functions on tensors.

Shapes use C for audio channels, S for stems, K for frequency bins
(``n_fft // 2 + 1``), T for frames and F for the bins the network sees.
"""

from __future__ import annotations

import torch

# Spleeter's epsilon in the ratio mask; keeps silent bins defined and masks summing to one.
MASK_EPS = 1e-10


def hann(n_fft: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Periodic Hann window (what Spleeter and torch.stft use)."""
    return torch.hann_window(n_fft, periodic=True, device=device)


def stft(audio: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor) -> torch.Tensor:
    """``(C, N)`` float audio -> ``(C, K, T)`` complex spectrum, centred, zero-padded edges.

    T = 1 + N // hop. Zero (not reflect) padding matches Spleeter's estimator.
    """
    return torch.stft(audio, n_fft=n_fft, hop_length=hop, window=window, center=True,
                      pad_mode="constant", return_complex=True)


def istft(spec: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor,
          length: int) -> torch.Tensor:
    """``(..., K, T)`` complex -> ``(..., length)`` audio; exact inverse of :func:`stft`.

    Equals ``torch.istft(center=True)`` to rounding. Where the hop divides the FFT
    size (every model here), the frames are overlap-added as ``n_fft // hop`` shifted
    block sums instead of torch's general fold, which took half of the iSTFT's time
    (0.034 -> 0.019 s for a 2 x 2 x 2049 x 512 chunk, measured on 2 threads).
    """
    lead, (k, t) = spec.shape[:-2], spec.shape[-2:]
    flat = spec.reshape(-1, k, t)
    if n_fft % hop or window.shape[-1] != n_fft:
        out = torch.istft(flat, n_fft=n_fft, hop_length=hop, window=window, center=True,
                          length=length)
        return out.reshape(*lead, length)
    frames = torch.fft.irfft(flat.transpose(1, 2), n=n_fft)        # (N, T, n_fft)
    frames.mul_(window)
    summed = _overlap_add(frames.view(len(flat), t, n_fft // hop, hop))
    envelope = _overlap_add(window.square().view(1, 1, n_fft // hop, hop).expand(1, t, -1, -1))
    start = n_fft // 2
    # past (T - 1) * hop only the centring pad was analysed (torch.istft refuses it)
    usable = max(0, min(length, (t - 1) * hop))
    out = summed.new_zeros(len(flat), length)
    # the squared-window sum is >= 0.375 of its peak inside the kept span for Hann at
    # hop <= n_fft / 4; the guard only keeps an odd window from dividing by zero
    env = envelope[0, start: start + usable]
    torch.div(summed[:, start: start + usable], torch.where(env > 1e-11, env, 1.0),
              out=out[:, :usable])
    return out.reshape(*lead, length)


def _overlap_add(parts: torch.Tensor) -> torch.Tensor:
    """``(N, T, R, hop)`` frames split in R hops -> ``(N, (T + R - 1) * hop)`` their sum,
    frame ``t`` starting at ``t * hop``: R shifted adds of whole blocks."""
    n, t, r, hop = parts.shape
    out = parts.new_zeros(n, t + r - 1, hop)
    for i in range(r):
        out[:, i: i + t] += parts[:, :, i]
    return out.view(n, -1)


def ratio_masks(soft_masks: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    """Spleeter's ratio masks from the networks' soft masks.

    Args:
        soft_masks: ``(S, ..., F)`` per-stem network outputs in [0, 1].
        magnitude: ``(..., F)`` mixture magnitude the networks saw.

    Returns:
        ``(S, ...,  F)`` masks m_i = (s_i^2 + eps/S) / (sum_j s_j^2 + eps) with
        s_i = soft_mask_i * |X|; they sum to one over S, so stems sum to the mix.
    """
    power = (soft_masks * magnitude).square()
    n = soft_masks.shape[0]
    return (power + MASK_EPS / n) / (power.sum(dim=0, keepdim=True) + MASK_EPS)


EXTENSIONS = ("top", "average", "zeros")


def extend_masks(masks: torch.Tensor, total_bins: int, mode: str = "top",
                 top_bins: int = 64) -> torch.Tensor:
    """Give every bin above the network's band to the stems, keeping sum-to-one.

    Args:
        masks: ``(S, ..., F)`` ratio masks for the modelled band.
        total_bins: K, the number of bins of the full spectrum.
        mode: ``top``: each frame's mean over the highest ``top_bins`` modelled bins
            (a stem that owns the top of the band keeps its air and sibilance);
            ``average``: each frame's mean over the whole modelled band (Spleeter's
            'average' option); ``zeros``: Spleeter's default, all stems silent up
            there except the last, which takes the rest (so the stems still sum
            to the mix).

    Returns:
        ``(S, ..., K)`` masks.
    """
    n_model = masks.shape[-1]
    extra = total_bins - n_model
    if extra <= 0:
        return masks[..., :total_bins]
    fill = band_fill(masks, mode, top_bins)
    return torch.cat([masks, fill.expand(*fill.shape[:-1], extra)], dim=-1)


def band_fill(masks: torch.Tensor, mode: str = "top", top_bins: int = 64) -> torch.Tensor:
    """``(S, ..., 1)``: the mask :func:`extend_masks` gives every bin above the band."""
    if mode == "top":
        return masks[..., -top_bins:].mean(dim=-1, keepdim=True)
    if mode == "average":
        return masks.mean(dim=-1, keepdim=True)
    if mode == "zeros":
        fill = torch.zeros_like(masks[..., :1])
        fill[-1] = 1.0
        return fill
    raise ValueError(f"unknown mask extension {mode!r}; choose from {EXTENSIONS}")


def masked_spectrum(spec: torch.Tensor, masks: torch.Tensor, fill: torch.Tensor
                    ) -> torch.Tensor:
    """The mixture masked per stem, ``spec * extend_masks(...)`` without building the
    full-band masks (one pass over the spectrum instead of three).

    Args:
        spec: ``(B, C, K, T)`` complex mixture spectrum.
        masks: ``(S, B, C, T, F)`` band masks, F <= K.
        fill: ``(S, B, C, T, 1)`` the masks of the bins above F (:func:`band_fill`).

    Returns:
        ``(S, B, C, K, T)`` complex.
    """
    f = masks.shape[-1]
    out = torch.empty((masks.shape[0], *spec.shape), dtype=spec.dtype, device=spec.device)
    torch.mul(spec[:, :, :f], masks.transpose(-1, -2), out=out[..., :f, :])
    if spec.shape[2] > f:
        torch.mul(spec[:, :, f:], fill.transpose(-1, -2), out=out[..., f:, :])
    return out


def magnitude_shares(stem_mag: torch.Tensor) -> torch.Tensor:
    """Each stem's share of the bin, summing to exactly one over the stems.

    ``stem_mag``: ``(S, C, K, T)`` magnitudes |S_i| of stems that sum to the mix.
    Returns ``(S, K, T)``: sum_c |S_i| / sum_j sum_c |S_j|, an equal share where
    every stem is silent. For stems made by a ratio mask on the mixture (the
    built-in model) this is the mask itself; for edited stems, or a waveform
    model's, it is what a musician reads as "how much of this is vocals" — the
    read-out then always adds up to 100 %, where |S_i| / |X| would not (phases
    that cancel make the stems' magnitudes add up to more than the mix's).
    """
    per_stem = stem_mag.sum(dim=1)
    total = per_stem.sum(dim=0, keepdim=True)
    silent = total <= 1e-12
    share = per_stem / torch.where(silent, torch.ones_like(total), total)
    return torch.where(silent, torch.full_like(share, 1.0 / stem_mag.shape[0]), share)
