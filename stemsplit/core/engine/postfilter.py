"""The Wiener post-filter as a stage of the engine's stream, for any model family.

A family's engine yields finished stem blocks at the input's rate, in order;
``WienerStage`` collects them into overlapping chunks of ``CHUNK_S`` seconds,
refines each chunk with ``wiener.wiener`` on its own STFT (the spatial covariances
are fitted per chunk, as Open-Unmix does with 300-frame windows), cross-fades the
chunks back together and passes the refined blocks on. Memory stays bounded by one
chunk whatever the song's length. The last stem is the input minus the others, so
the stems still sum to the input exactly.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from stemsplit.core.engine import dsp
from stemsplit.core.engine.chunking import Chunk, crossfade_weights, plan_chunks
from stemsplit.core.engine.wiener import wiener
from stemsplit.core.stems import Progress, StemBlock

N_FFT = 4096
HOP = 1024
CHUNK_S = 8.0
OVERLAP_S = 1.0


def refine(estimates: np.ndarray, mixture: np.ndarray, iterations: int,
           n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """Wiener-refine time-domain estimates of a (short) mixture in one piece.

    Args:
        estimates: ``(S, C, N)`` float stems of ``mixture``.
        mixture: ``(C, N)`` float.

    Returns:
        ``(S, C, N)`` float32 refined stems; they sum to ``mixture`` up to rounding.
    """
    s, c, n = estimates.shape
    window = dsp.hann(n_fft).double()
    x = dsp.stft(torch.from_numpy(np.asarray(mixture, np.float64)), n_fft, hop, window)
    y = dsp.stft(torch.from_numpy(np.asarray(estimates, np.float64)).reshape(s * c, n),
                 n_fft, hop, window).reshape(s, c, *x.shape[-2:])
    refined = dsp.istft(wiener(y, x, iterations), n_fft, hop, window, n)
    out = refined.numpy().astype(np.float32)
    out[-1] = mixture - out[:-1].sum(axis=0)
    return out


def refine_stems(stems: dict[str, np.ndarray], mixture: np.ndarray, iterations: int,
                 sample_rate: int) -> dict[str, np.ndarray]:
    """Wiener-refine whole ``(C, N)`` stems of ``mixture`` chunk by chunk, as the engine
    does (for estimates written by another tool, or one separation refined several ways).

    The last stem of ``stems`` takes the rest, so the result sums to ``mixture``.
    """
    names = tuple(stems)
    stage = WienerStage(np.asarray(mixture, np.float32), names, iterations, sample_rate)
    block = StemBlock(0, {s: np.asarray(stems[s], np.float32) for s in names})
    done = stage.apply(Progress(1.0, 0.0, 0.0, 1, 1, "cpu", stems=block)).stems
    return dict(done.audio)


class WienerStage:
    """Refines a stream of ``Progress`` records' stem blocks with the Wiener filter.

    Args:
        source: ``(C, N)`` float32, the input the stems must sum to.
        stems: stem names in the engine's order.
        iterations: EM iterations per chunk.
        sample_rate: the input's rate (chunk lengths are in seconds).
    """

    def __init__(self, source: np.ndarray, stems: tuple[str, ...], iterations: int,
                 sample_rate: int) -> None:
        self.source, self.stems, self.iterations = source, stems, iterations
        n = source.shape[1]
        overlap = max(HOP, int(OVERLAP_S * sample_rate) // HOP * HOP)
        length = max(2 * overlap, int(CHUNK_S * sample_rate) // HOP * HOP)
        self.chunks = plan_chunks(n, length, overlap)
        self.next = 0                       # index of the next chunk to refine
        self.base = 0                       # absolute sample index of buf[..., 0]
        self.buf = np.zeros((len(stems), source.shape[0], 0), np.float32)
        self.tail: np.ndarray | None = None

    def apply(self, progress: Progress) -> Progress:
        """The same record with its stem block replaced by what is refined so far (or None)."""
        if progress.stems is None:
            return progress
        block = np.stack([progress.stems.audio[s] for s in self.stems])
        self.buf = np.concatenate([self.buf, block], axis=-1)
        received = self.base + self.buf.shape[-1]
        done: list[StemBlock] = []
        n = self.source.shape[1]
        while self.next < len(self.chunks):
            c = self.chunks[self.next]
            if min(c.start + c.length, n) > received:
                break
            done.append(self._refine(c))
            self.next += 1
        return dataclasses.replace(progress, stems=_join(done, self.stems))

    def _refine(self, c: Chunk) -> StemBlock:
        n = self.source.shape[1]
        end = min(c.start + c.length, n)
        est = self.buf[..., c.start - self.base: end - self.base]
        mix = self.source[:, c.start: end]
        y = refine(est, mix, self.iterations) if self.iterations > 0 else est.copy()
        y = y * crossfade_weights(c)[: end - c.start]
        if self.tail is not None:
            y[..., : c.fade_in] += self.tail
        done_end = min(c.start + c.length - c.fade_out, n)
        self.tail = y[..., done_end - c.start:] if c.fade_out and done_end < end else None
        out = y[..., : done_end - c.start]
        mix_done = self.source[:, c.start: done_end]
        out[-1] = mix_done - out[:-1].sum(axis=0)
        self.buf = self.buf[..., done_end - self.base:]
        self.base = done_end
        return StemBlock(c.start, {s: np.ascontiguousarray(out[i])
                                   for i, s in enumerate(self.stems)})


def _join(blocks: list[StemBlock], stems: tuple[str, ...]) -> StemBlock | None:
    if not blocks:
        return None
    if len(blocks) == 1:
        return blocks[0]
    return StemBlock(blocks[0].start, {s: np.concatenate([b.audio[s] for b in blocks], axis=-1)
                                       for s in stems})
