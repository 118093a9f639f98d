"""The chunk loop every STFT-mask engine shares: cut, run, cross-fade, hand back at the input rate.

A family gives a function that turns a batch of model-rate chunks into stem
audio and display masks; this loop plans the chunks, cross-fades neighbours
(weights summing to one, so sum-to-mix holds), checks for cancel before every
batch and yields a ``Progress`` per finished chunk with its stems already at
the input's own rate (``separator.BackToSource``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from stemsplit.core.engine.chunking import Chunk, crossfade_weights, plan_chunks
from stemsplit.core.engine.separator import BackToSource, slice_padded
from stemsplit.core.errors import Cancelled
from stemsplit.core.stems import MaskBlock, Progress

# (B, 2, L) model-rate chunks -> stems (S, B, 2, L) and display masks (S, B, K, T)
RunChunks = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def iter_overlap_add(stereo: np.ndarray, source: np.ndarray, stems: tuple[str, ...],
                     source_rate: int, model_rate: int, chunk_length: int, overlap: int,
                     hop: int, n_fft: int, run: RunChunks, device: Callable[[], str],
                     batch: int = 1, cancel: threading.Event | None = None
                     ) -> Iterator[Progress]:
    """Separate ``stereo`` (``(2, N)`` at ``model_rate``) chunk by chunk.

    Args:
        source: the input as given, ``(C, n)`` at ``source_rate``; the last stem
            is ``source`` minus the others, so the stems sum to it exactly.
        chunk_length, overlap: samples at the model rate; chunk starts are
            multiples of ``hop`` so display frames line up across chunks.
        device: where the chunks run now (may change after an out-of-memory fallback).

    Raises:
        Cancelled: when ``cancel`` is set (checked before every batch).
    """
    started = time.perf_counter()
    n_model = stereo.shape[1]
    chunks = plan_chunks(n_model, chunk_length, overlap)
    back = BackToSource(source, stems, source_rate, model_rate)
    yield Progress(0.0, 0.0, None, 0, len(chunks), device())
    tail = None  # weighted overlap of the previous chunk, waiting for the next
    group = max(1, batch)
    for first in range(0, len(chunks), group):
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        part = chunks[first: first + group]
        audio_out, masks = run(np.stack([slice_padded(stereo, c.start, c.length) for c in part]))
        for j, c in enumerate(part):
            done, tail = add_chunk(audio_out[:, j], c, tail, n_model)
            block = back.push(done, last=c.index == len(chunks) - 1)
            fraction = (c.index + 1) / len(chunks)
            elapsed = time.perf_counter() - started
            yield Progress(
                fraction=fraction, elapsed_s=elapsed, eta_s=elapsed * (1 - fraction) / fraction,
                chunk=c.index + 1, n_chunks=len(chunks), device=device(), stems=block,
                masks=MaskBlock(c.start // hop, masks[:, j], hop / model_rate,
                                model_rate / n_fft),
            )


def add_chunk(audio: np.ndarray, c: Chunk, tail: np.ndarray | None, total: int
              ) -> tuple[np.ndarray, np.ndarray | None]:
    """Cross-fade chunk ``c``'s ``(S, 2, L)`` stems onto the previous chunk's ``tail``.

    Returns the finished samples (up to where the next chunk's fade begins, or the
    end of the signal of ``total`` samples) and the weighted tail to hand on.
    """
    y = audio * crossfade_weights(c)
    if tail is not None:
        y[..., : c.fade_in] += tail
    done_end = min(c.start + c.length - c.fade_out, total)
    return y[..., : done_end - c.start], (y[..., c.length - c.fade_out:] if c.fade_out else None)
