"""Sample-rate conversion that keeps sample 0 at sample 0 and lengths exact (soxr, VHQ)."""

from __future__ import annotations

import numpy as np
import soxr


def resampled_length(frames: int, old: int, new: int) -> int:
    """``round(frames * new / old)`` with halves rounded up, in exact integers."""
    return (2 * frames * new + old) // (2 * old)


def resample(audio: np.ndarray, old: int, new: int) -> np.ndarray:
    """``(channels, n)`` at ``old`` Hz -> ``(channels, resampled_length(n))`` at ``new`` Hz.

    soxr's one-shot resampler compensates its filter delay, so sample 0 stays
    sample 0; the length is then made exact by trimming or zero-padding the
    last sample or two.
    """
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    if old == new:
        return audio
    target = resampled_length(audio.shape[1], old, new)
    out = soxr.resample(np.ascontiguousarray(audio.T), old, new, quality="VHQ").T
    return fit_length(np.ascontiguousarray(out, dtype=np.float32), target)


def fit_length(audio: np.ndarray, frames: int) -> np.ndarray:
    """Trim or zero-pad the last axis to exactly ``frames``."""
    if audio.shape[-1] >= frames:
        return audio[..., :frames]
    return np.pad(audio, ((0, 0), (0, frames - audio.shape[-1])))


class StreamResampler:
    """Block-by-block resampling with the same output as :func:`resample`.

    For the CLI, which writes stems as the engine yields them. ``total`` is the
    input length in frames; the output comes to exactly ``resampled_length``.
    """

    def __init__(self, old: int, new: int, channels: int, total: int) -> None:
        self.old, self.new = old, new
        self.target = resampled_length(total, old, new)
        self.emitted = 0
        self._stream = (soxr.ResampleStream(old, new, channels, dtype="float32", quality="VHQ")
                        if old != new else None)

    def process(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        """Feed ``(channels, n)``; returns the ``(channels, m)`` output ready so far."""
        block = np.atleast_2d(np.asarray(block, dtype=np.float32))
        if self._stream is None:
            out = block
        else:
            out = self._stream.resample_chunk(np.ascontiguousarray(block.T), last=last).T
        room = self.target - self.emitted
        out = out[:, :room]
        if last and out.shape[1] < room:
            out = fit_length(out, room)
        self.emitted += out.shape[1]
        return np.ascontiguousarray(out, dtype=np.float32)
