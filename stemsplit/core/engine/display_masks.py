"""Display masks of a waveform model: each stem's share per bin of the finished audio.

Models that output waveforms (HT-Demucs, the RoFormers, ensembles) have no
spectrogram masks of their own to show; these are computed from the stems as
they are finished, so the window can tint the spectrogram while a run goes on.
"""

from __future__ import annotations

import numpy as np
import torch

from stemsplit.core.engine.dsp import magnitude_shares
from stemsplit.core.stems import MaskBlock

MASK_FFT = 4096
MASK_HOP = 1024


class DisplayMasks:
    """Turns finished model-rate stem audio into ``MaskBlock``s: each stem's share per bin.

    Frame ``f`` is centred at sample ``f * MASK_HOP``; a frame is emitted once
    the audio under its whole window is final (the song's ends are zero-padded).
    The last stem is taken as mix minus the others, as the engine returns it.
    """

    def __init__(self, mix: np.ndarray, rate: int) -> None:
        self.mix, self.rate = mix, rate
        self.half = MASK_FFT // 2
        self.next_frame = 0
        self.buffer: np.ndarray | None = None   # (S, C, n) from song sample buffer_start
        self.buffer_start = -self.half
        self.window = torch.hann_window(MASK_FFT)

    def push(self, start: int, stems: np.ndarray, last: bool) -> MaskBlock | None:
        """``stems``: ``(S, C, n)`` final audio from song sample ``start`` (blocks in order)."""
        if self.buffer is None:
            self.buffer = np.zeros((*stems.shape[:2], self.half), np.float32)
        if start != self.buffer_start + self.buffer.shape[-1]:
            raise ValueError("display mask blocks must follow each other")
        self.buffer = np.concatenate([self.buffer, stems.astype(np.float32)], axis=-1)
        end = self.buffer_start + self.buffer.shape[-1]       # song sample after the buffer
        n_song = self.mix.shape[-1]
        if last:
            pad = self.half + MASK_HOP
            self.buffer = np.concatenate(
                [self.buffer, np.zeros((*self.buffer.shape[:2], pad), np.float32)], axis=-1)
            stop = (n_song - 1) // MASK_HOP + 1                 # frames centred in the song
        else:
            stop = max(self.next_frame, (end - self.half) // MASK_HOP + 1)
        first = self.next_frame
        if stop <= first:
            return None
        a = first * MASK_HOP - self.half - self.buffer_start
        b = (stop - 1) * MASK_HOP + self.half - self.buffer_start
        stems_part = torch.from_numpy(self.buffer[..., a:b])
        mix_part = _slice(self.mix, first * MASK_HOP - self.half, b - a)
        mix_t = torch.from_numpy(mix_part)
        stems_part = torch.cat([stems_part[:-1], (mix_t - stems_part[:-1].sum(0))[None]])
        n_stems, channels = stems_part.shape[:2]
        spec = torch.stft(stems_part.reshape(-1, b - a), MASK_FFT, MASK_HOP,
                          window=self.window, center=False,
                          return_complex=True).abs()                # (S*C, K, frames)
        ratio = magnitude_shares(spec.reshape(n_stems, channels, *spec.shape[-2:]))
        self.next_frame = stop
        drop = stop * MASK_HOP - self.half - self.buffer_start
        self.buffer = self.buffer[..., drop:]
        self.buffer_start += drop
        return MaskBlock(first, ratio.numpy().astype(np.float32), MASK_HOP / self.rate,
                         self.rate / MASK_FFT)


def _slice(x: np.ndarray, start: int, size: int) -> np.ndarray:
    """``x[:, start:start + size]`` with zeros outside ``x``."""
    out = np.zeros((x.shape[0], size), np.float32)
    a, b = max(start, 0), min(start + size, x.shape[-1])
    if a < b:
        out[:, a - start: b - start] = x[:, a:b]
    return out
