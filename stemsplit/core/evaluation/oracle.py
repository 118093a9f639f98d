"""Ideal ("oracle") separations computed from the references: the upper bounds of masking.

Every oracle works on the same STFT as the U-Nets (4096-sample periodic Hann, hop
1024, at the track's rate) and applies its masks to the mixture's spectrum, as a
mask-based model does; no model can beat them on that STFT (Vincent, Gribonval &
Plumbley 2007; the sigsep-mus-oracle baselines):

- ``irm``: ideal ratio mask of power spectrograms, ``|S_j|^2 / sum_k |S_k|^2``;
- ``ibm``: ideal binary mask, each bin (per channel) to the loudest source;
- ``wiener``: the oracle multichannel Wiener filter, ``v_j R_j (sum_k v_k R_k)^-1``
  with each source's true power spectral density and spatial covariance.

The references given must partition the mixture (e.g. vocals + accompaniment, or
drums, bass, other, vocals). The last estimate is the mixture minus the others, so
the estimates sum to the mixture exactly, like the engine's.
"""

from __future__ import annotations

import numpy as np
import torch

from stemsplit.core.engine import dsp, wiener
from stemsplit.core.engine.chunking import crossfade_weights, plan_chunks

ORACLES = ("irm", "ibm", "wiener")
N_FFT = 4096
HOP = 1024
CHUNK_S = 30       # seconds per chunk (at 44.1 kHz; samples scale with nothing else)
OVERLAP_S = 1
CHUNK_FRAMES = 512  # the Wiener gains are formed this many frames at a time


def oracle_separate(mixture: np.ndarray, references: dict[str, np.ndarray], method: str,
                    n_fft: int = N_FFT, hop: int = HOP) -> dict[str, np.ndarray]:
    """Separate ``mixture`` with ideal masks from ``references``.

    Long tracks are processed in cross-faded chunks of ``CHUNK_S`` seconds (the
    Wiener oracle fits its spatial covariances per chunk), so memory stays bounded.

    Args:
        mixture: ``(C, N)`` float.
        references: stem -> ``(C, N)`` float, a partition of the mixture.
        method: one of ``ORACLES``.

    Returns:
        stem -> ``(C, N)`` float32 estimates, in the references' order.
    """
    if method not in ORACLES:
        raise ValueError(f"unknown oracle {method!r}; choose from {', '.join(ORACLES)}")
    names = list(references)
    refs = np.stack([np.asarray(references[s], np.float32) for s in names])
    n = mixture.shape[1]
    out = np.zeros(refs.shape, np.float32)
    length = CHUNK_S * 44100 // hop * hop
    for c in plan_chunks(n, length, min(length // 2, OVERLAP_S * 44100 // hop * hop)):
        end = min(c.start + c.length, n)
        part = _oracle_chunk(mixture[:, c.start: end], refs[..., c.start: end], method,
                             n_fft, hop)
        out[..., c.start: end] += part * crossfade_weights(c)[: end - c.start]
    out[-1] = mixture - out[:-1].sum(axis=0)
    return {name: np.ascontiguousarray(out[i]) for i, name in enumerate(names)}


def _oracle_chunk(mixture: np.ndarray, refs: np.ndarray, method: str, n_fft: int,
                  hop: int) -> np.ndarray:
    """``(S, C, n)`` float32 oracle estimates of one ``(C, n)`` piece of the mixture."""
    n_src, c, n = refs.shape
    window = dsp.hann(n_fft).double()
    x = dsp.stft(torch.from_numpy(np.asarray(mixture, np.float64)), n_fft, hop, window)
    s = dsp.stft(torch.from_numpy(refs.astype(np.float64)).reshape(n_src * c, n), n_fft, hop,
                 window).reshape(n_src, c, *x.shape[-2:])             # (S, C, K, T)
    if method == "wiener":
        y = _oracle_wiener(s, x)
    else:
        power = s.abs().square()
        if method == "irm":
            masks = (power + dsp.MASK_EPS / n_src) / (power.sum(0) + dsp.MASK_EPS)
        else:
            winner = power.argmax(dim=0, keepdim=True)
            masks = torch.zeros_like(power).scatter_(0, winner, 1.0)
        y = masks * x
    return dsp.istft(y, n_fft, hop, window, n).numpy().astype(np.float32)


def _oracle_wiener(s: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(S, C, K, T)`` posterior means given the true sources' spectra ``s``."""
    scale = float(x.abs().max()) / 10.0 or 1.0
    s, x = s / scale, x / scale
    v, r = wiener.local_gaussian_model(s)         # spatial covariances of the whole track
    out = torch.empty_like(s)
    for a in range(0, x.shape[-1], CHUNK_FRAMES):
        b = slice(a, a + CHUNK_FRAMES)
        z = wiener.whiten(wiener.invert(wiener.mix_covariance(v[..., b], r, wiener.EPS ** 0.5)),
                          x[..., b])
        for j in range(s.shape[0]):
            out[j, ..., b] = wiener.apply_gains(v[j, :, b], r[j], z)
    return out * scale
