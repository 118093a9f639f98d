"""What every model family's engine shares: options, input checks, the way back to the source.

A family's engine (``models.spleeter.engine``, ``models.htdemucs.engine``) subclasses
``Separator`` and implements ``iter_separate``; ``models.registry.load_separator``
builds the right one for a model. The engine knows no model family.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import soxr

from stemsplit.core.audio.resampling import fit_length
from stemsplit.core.errors import StemsplitError
from stemsplit.core.stems import Progress, StemBlock, StemSet

RESAMPLE_QUALITY = "VHQ"


@dataclass(frozen=True)
class EngineOptions:
    """Tunables with defaults chosen by measurement (see benchmarks/).

    Attributes:
        overlap_s: cross-fade between neighbouring chunks; hides seams at the
            ~11.9 s chunk edges where the network lacks context.
        batch_size: chunks per network call.
        extension: how bins above the network's band are shared (dsp.EXTENSIONS).
        model_bins: bins the network sees; Spleeter's own 16 kHz configs run the
            same weights on 1536.
        split_overlap: HT-Demucs: fraction of a segment shared with the next
            (demucs's ``--overlap``).
        segment_s: HT-Demucs: seconds per segment; None: the model's own (7.8 s).
        shifts: HT-Demucs: random time shifts averaged (demucs's "shift trick";
            each one costs a full pass).
        seed: HT-Demucs: seeds the shifts, so a run is reproducible.
        precision: RoFormer: "auto" (bf16 where the hardware runs it natively,
            fp16 on GPUs without bf16, else fp32), "fp32", "bf16" or "fp16".
    """

    overlap_s: float = 1.0
    batch_size: int = 1
    extension: str = "average"
    model_bins: int | None = None
    split_overlap: float = 0.25
    segment_s: float | None = None
    shifts: int = 0
    seed: int = 0
    precision: str = "auto"


class Separator:
    """Holds a model on a device and separates audio with it (one subclass per family).

    Subclasses set ``info`` (the model's ``ModelInfo``) and implement ``iter_separate``.
    """

    info: object

    @property
    def stems(self) -> tuple[str, ...]:
        return self.info.stems

    def iter_separate(self, audio: np.ndarray, sample_rate: int,
                      cancel: threading.Event | None = None) -> Iterator[Progress]:
        """Separate ``(channels, samples)`` audio, yielding Progress records (see subclasses)."""
        raise NotImplementedError

    def separate(self, audio: np.ndarray, sample_rate: int,
                 cancel: threading.Event | None = None,
                 on_progress: Callable[[Progress], None] | None = None) -> StemSet:
        """Separate and collect the whole result in memory."""
        out = {s: np.zeros(audio.shape if audio.ndim == 2 else (1, audio.shape[-1]),
                           np.float32) for s in self.stems}
        for p in self.iter_separate(audio, sample_rate, cancel):
            if p.stems is not None:
                for s, block in p.stems.audio.items():
                    out[s][:, p.stems.start: p.stems.start + block.shape[-1]] = block
            if on_progress is not None:
                on_progress(p)
        return StemSet(sample_rate, out, self.info.name)


def check_input(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2 or audio.shape[0] not in (1, 2):
        raise StemsplitError(f"expected mono or stereo audio shaped (channels, samples), "
                             f"got {audio.shape}")
    if audio.shape[1] == 0:
        raise StemsplitError("the audio is empty")
    if sample_rate <= 0:
        raise StemsplitError(f"invalid sample rate {sample_rate}")
    if not np.isfinite(audio).all():
        raise StemsplitError("the audio contains NaN or infinite samples")
    return np.asarray(audio, dtype=np.float32)


def slice_padded(x: np.ndarray, start: int, length: int) -> np.ndarray:
    part = x[:, start: start + length]
    if part.shape[1] < length:
        part = np.pad(part, ((0, 0), (0, length - part.shape[1])))
    return part


class BackToSource:
    """Turns model-rate stem blocks into blocks at the input's rate and channel count.

    All stems but the last are resampled as one stream; the last is the input
    minus the others, so the stems always sum to the input.
    """

    def __init__(self, source: np.ndarray, stems: tuple[str, ...], rate: int,
                 model_rate: int) -> None:
        self.source, self.stems = source, stems
        self.channels = source.shape[0]
        self.pos = 0
        self.stream = None
        if rate != model_rate:
            self.stream = soxr.ResampleStream(model_rate, rate, (len(stems) - 1) * self.channels,
                                              dtype="float32", quality=RESAMPLE_QUALITY)

    def push(self, block: np.ndarray, last: bool) -> StemBlock:
        """``block``: ``(S, 2, n)`` at the model rate."""
        if self.channels == 1:
            block = block.mean(axis=1, keepdims=True)
        others = block[:-1].reshape(-1, block.shape[-1])                   # (S-1)*C rows
        if self.stream is not None:
            others = self.stream.resample_chunk(np.ascontiguousarray(others.T), last=last).T
        n = others.shape[-1]
        total = self.source.shape[1]
        if last:
            n = total - self.pos  # resampling rounds; the output is exactly as long as the input
            others = fit_length(others, n)
        n = min(n, total - self.pos)
        others = others[:, :n].reshape(len(self.stems) - 1, self.channels, n)
        mix = self.source[:, self.pos: self.pos + n]
        audio = {s: np.ascontiguousarray(others[i]) for i, s in enumerate(self.stems[:-1])}
        audio[self.stems[-1]] = mix - others.sum(axis=0)
        block_out = StemBlock(self.pos, audio)
        self.pos += n
        return block_out
