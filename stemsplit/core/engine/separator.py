"""What every model family's engine shares: options, input checks, the way back to the source.

A family's engine (``models.spleeter.engine``, ``models.htdemucs.engine``) subclasses
``Separator`` and implements ``_iter_stems``; ``Separator.iter_separate`` adds what
every family shares (the Wiener post-filter); ``models.registry.load_separator``
builds the right one for a model. The engine knows no model family.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

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
        precision: the network's number format (``engine.precision``): "auto" (bf16
            or fp16 where the hardware does it natively, else fp32), "fp32", "bf16",
            "fp16". STFT, masks and mixing always stay float32.
        wiener_iterations: EM iterations of the multichannel Wiener post-filter
            (``engine.postfilter``) applied to any family's stems; 0 turns it off,
            None leaves it to the model (``ModelInfo.wiener_iterations``).
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
    wiener_iterations: int | None = None


class Separator:
    """Holds a model on a device and separates audio with it (one subclass per family).

    Subclasses set ``info`` (the model's ``ModelInfo``) and ``options`` and implement
    ``_iter_stems``.
    """

    info: object
    options: EngineOptions

    @property
    def stems(self) -> tuple[str, ...]:
        return self.info.stems

    @property
    def wiener_iterations(self) -> int:
        """EM iterations of the Wiener post-filter this separator applies (0: none)."""
        n = self.options.wiener_iterations
        return max(0, int(getattr(self.info, "wiener_iterations", 0) if n is None else n))

    def set_wiener(self, iterations: int | None) -> None:
        """Change the Wiener post-filter for the next runs, without reloading the model."""
        self.options = replace(self.options, wiener_iterations=iterations)

    def iter_separate(self, audio: np.ndarray, sample_rate: int,
                      cancel: threading.Event | None = None) -> Iterator[Progress]:
        """Separate ``(channels, samples)`` audio, yielding Progress records.

        The stem blocks of all records, concatenated, cover the input exactly once,
        in order, and sum to it. See the family's ``_iter_stems`` for the rest.
        """
        stream = self._iter_stems(audio, sample_rate, cancel)
        iterations = self.wiener_iterations
        if iterations <= 0:
            yield from stream
            return
        from stemsplit.core.engine.postfilter import WienerStage

        stage = WienerStage(check_input(audio, sample_rate), self.stems, iterations,
                            sample_rate)
        for p in stream:
            yield stage.apply(p)

    def _iter_stems(self, audio: np.ndarray, sample_rate: int,
                    cancel: threading.Event | None = None) -> Iterator[Progress]:
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
        """``block``: ``(S, 2, n)`` or ``(S-1, 2, n)`` at the model rate (the last stem, if
        there, is not used)."""
        block = block[: len(self.stems) - 1]
        if self.channels == 1:
            block = block.mean(axis=1, keepdims=True)
        others = block.reshape(-1, block.shape[-1])                        # (S-1)*C rows
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
