"""Cutting a long signal into overlapping chunks and cross-fading them back.

The plan is pure arithmetic, so it is tested on its own; the weights of
overlapping chunks sum to exactly one everywhere, which keeps sum-to-mix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Chunk:
    """One chunk: ``[start, start + length)`` of the signal (may run past its end)."""

    index: int
    start: int
    length: int
    fade_in: int   # samples of rising cross-fade at the start (0 for the first chunk)
    fade_out: int  # samples of falling cross-fade at the end (0 for the last chunk)


def plan_chunks(n_samples: int, chunk: int, overlap: int) -> list[Chunk]:
    """Chunks of ``chunk`` samples every ``chunk - overlap`` samples covering ``n_samples``."""
    if not 0 <= overlap < chunk:
        raise ValueError("overlap must be in [0, chunk)")
    stride = chunk - overlap
    starts = [0]
    while starts[-1] + chunk < n_samples:
        starts.append(starts[-1] + stride)
    last = len(starts) - 1
    return [Chunk(i, s, chunk, overlap if i > 0 else 0, overlap if i < last else 0)
            for i, s in enumerate(starts)]


def crossfade_weights(c: Chunk) -> np.ndarray:
    """``(length,)`` weights: linear ramps over the overlaps, one elsewhere.

    A rising ramp (k + 0.5) / n and the previous chunk's falling ramp add to one.
    """
    w = np.ones(c.length, dtype=np.float32)
    if c.fade_in:
        w[: c.fade_in] = (np.arange(c.fade_in, dtype=np.float32) + 0.5) / c.fade_in
    if c.fade_out:
        ramp = (np.arange(c.fade_out, dtype=np.float32) + 0.5) / c.fade_out
        w[c.length - c.fade_out:] = 1.0 - ramp
    return w
