"""Combining several models' estimates of one stem: pure functions on ``(C, n)`` float32.

- ``avg``: the weighted mean of the waveforms.
- ``max_spec`` / ``min_spec`` (UVR's): per STFT bin, the estimate whose weighted
  magnitude is the largest / smallest, its complex value kept, then back to a
  waveform. ``max_spec`` keeps the most of a stem (fuller, more bleed),
  ``min_spec`` the least (cleaner, thinner).
"""

from __future__ import annotations

import numpy as np
import torch

N_FFT = 2048
HOP = 512


def combine(estimates: list[np.ndarray], weights: tuple[float, ...], method: str) -> np.ndarray:
    """One ``(C, n)`` estimate from several (all ``(C, n)``), by ``method``."""
    if method == "avg":
        total = sum(weights)
        out = np.zeros_like(estimates[0])
        for x, w in zip(estimates, weights, strict=True):
            out += x * np.float32(w / total)
        return out
    n = estimates[0].shape[-1]
    window = torch.hann_window(N_FFT)
    pad = max(0, N_FFT - n)  # a very short input still gets one full frame
    specs = torch.stack([torch.stft(torch.from_numpy(np.pad(x, ((0, 0), (0, pad)))), N_FFT,
                                    HOP, window=window, return_complex=True)
                         for x in estimates])                                # (M, C, F, T)
    mags = specs.abs() * torch.tensor(weights, dtype=torch.float32)[:, None, None, None]
    pick = mags.argmax(0) if method == "max_spec" else mags.argmin(0)
    chosen = torch.gather(specs, 0, pick[None]).squeeze(0)
    out = torch.istft(chosen, N_FFT, HOP, window=window, length=n + pad)[..., :n]
    return out.numpy().astype(np.float32)
