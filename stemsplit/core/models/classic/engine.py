"""The engine of the classic separators: STFT masks computed from the mixture alone.

Flow: input -> 44.1 kHz stereo -> overlapping chunks (REPET-SIM wants long ones:
repetitions are found within a chunk) -> STFT (4096 / 1024) -> the method's
masks -> masked mixture -> iSTFT -> cross-faded overlap-add -> input rate.
Runs on the CPU: median filters and similarity search are memory-bound work
that a GPU would spend more time copying for than computing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import soxr
import torch

from stemsplit.core.engine import dsp
from stemsplit.core.engine.device import configure_cpu_threads
from stemsplit.core.engine.overlap_add import iter_overlap_add
from stemsplit.core.engine.separator import (
    RESAMPLE_QUALITY,
    EngineOptions,
    Separator,
    check_input,
)
from stemsplit.core.errors import StemsplitError
from stemsplit.core.models.classic import masks as classic_masks
from stemsplit.core.models.info import ModelInfo
from stemsplit.core.stems import Progress

RATE = 44100
N_FFT = 4096
HOP = 1024


@dataclass(frozen=True)
class Method:
    """One classic separator: how it masks a chunk and how long its chunks are.

    Attributes:
        masks: ``(2, K, T)`` complex stereo spectrum -> ``(S, 2, K, T)`` masks; None
            for plain mid/side matrixing, computed on the waveform.
        chunk_s, overlap_s: chunk length and cross-fade in seconds.
        needs_stereo: refuse mono input (panning needs two channels).
    """

    masks: Callable[[torch.Tensor], torch.Tensor] | None  # None: mid/side on the waveform
    chunk_s: float = 11.9
    overlap_s: float = 1.0
    needs_stereo: bool = False


def hpss(harmonic_s: float = 0.72, percussive_hz: float = 334.0,
         margin: float = 1.0) -> Method:
    """Kernel sizes in seconds and Hz, so a result does not depend on the STFT or the rate.

    The defaults are librosa's 31 frames and 31 bins at this STFT (23.2 ms, 10.8 Hz).
    """
    frames = classic_masks.odd_size(harmonic_s, HOP / RATE)
    bins = classic_masks.odd_size(percussive_hz, RATE / N_FFT)
    return Method(lambda spec: classic_masks.hpss_masks(spec.abs(), frames, bins, margin))


def repet_sim(min_distance_s: float = 1.0, max_repeats: int = 100) -> Method:
    return Method(lambda spec: classic_masks.repet_sim_masks(
        spec.abs(), RATE / N_FFT, HOP / RATE, min_distance_s, max_repeats),
        chunk_s=23.8, overlap_s=2.0)  # repeats are looked for within a chunk


def centre(width: float = 0.2) -> Method:
    return Method(lambda spec: classic_masks.centre_masks(spec, width), needs_stereo=True)


def mid_side() -> Method:
    """Mid (L+R)/2 on both channels, and the sides (L-R)/2, (R-L)/2: plain matrixing."""
    return Method(None, needs_stereo=True)


class ClassicSeparator(Separator):
    """Separates with a classic method; no weights, CPU only."""

    def __init__(self, info: ModelInfo, method: Method, device: str = "auto",
                 options: EngineOptions | None = None) -> None:
        self.info = info
        self.method = method
        self.options = options or EngineOptions()
        self.device = torch.device("cpu")
        configure_cpu_threads()
        self.window = dsp.hann(N_FFT)

    @torch.inference_mode()
    def _run(self, chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b, c, length = chunks.shape
        x = torch.from_numpy(chunks)
        spec = dsp.stft(x.reshape(b * c, length), N_FFT, HOP, self.window)
        spec = spec.reshape(b, c, *spec.shape[-2:])                       # (B, 2, K, T)
        masks = torch.stack([self.method.masks(s) for s in spec], dim=1)  # (S, B, 2, K, T)
        audio = dsp.istft(spec.unsqueeze(0) * masks, N_FFT, HOP, self.window, length)
        return audio.numpy(), masks.mean(dim=2).numpy()

    def _iter_stems(self, audio: np.ndarray, sample_rate: int,
                      cancel: threading.Event | None = None) -> Iterator[Progress]:
        """Separate ``(channels, samples)`` audio, yielding a Progress per chunk.

        Raises:
            Cancelled: when ``cancel`` is set (checked before every chunk).
            StemsplitError: for input the method cannot take (mono for panning).
        """
        source = check_input(audio, sample_rate)
        if self.method.needs_stereo and source.shape[0] != 2:
            raise StemsplitError(f"{self.info.title} needs a stereo recording: it separates "
                                 "by where sounds sit between the speakers, and this one "
                                 "is mono")
        stereo = source if source.shape[0] == 2 else np.repeat(source, 2, axis=0)
        if sample_rate != RATE:
            stereo = soxr.resample(stereo.T, sample_rate, RATE, quality=RESAMPLE_QUALITY).T
        stereo = np.ascontiguousarray(stereo, dtype=np.float32)
        run = _mid_side if self.method.masks is None else self._run
        # a song shorter than a chunk is one chunk of its own length (no padded work)
        frames = min(int(round(self.method.chunk_s * RATE / HOP)), stereo.shape[1] // HOP + 2)
        length = HOP * (frames - 1)
        overlap = min(length // 2, int(round(self.method.overlap_s * RATE / HOP)) * HOP)
        yield from iter_overlap_add(stereo, source, self.stems, sample_rate, RATE, length,
                                    overlap, HOP, N_FFT, run, lambda: "cpu", cancel=cancel)


def _mid_side(chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(B, 2, L)`` -> mid on both channels and the sides; display masks from energies."""
    mid = chunks.mean(axis=1, keepdims=True)
    audio = np.stack([np.repeat(mid, 2, axis=1), chunks - mid])           # (2, B, 2, L)
    window = dsp.hann(N_FFT)
    with torch.inference_mode():
        spec = dsp.stft(torch.from_numpy(audio.reshape(-1, chunks.shape[-1])), N_FFT, HOP,
                        window).abs().square()
        spec = spec.reshape(2, chunks.shape[0], 2, *spec.shape[-2:]).sum(dim=2)  # (2, B, K, T)
        share = spec / spec.sum(dim=0, keepdim=True).clamp_min(1e-20)
    return audio, share.numpy().astype(np.float32)
