"""The separation engine for HT-Demucs models, with the same interface as ``Separator``.

Flow: input at its own rate -> 44.1 kHz stereo (soxr) -> normalised by the
whole song's mean and standard deviation (as demucs's own front ends do) ->
``apply.iter_apply`` (segments with overlap-add, shifts, bags; one segment at a
time on the device) -> denormalised -> back to the input's rate, where the last
stem is the input minus the others so the stems sum to the input exactly.
Display masks are |stem| / |mix| of the finished audio's STFT (4096 / 1024).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator

import numpy as np
import soxr
import torch

from stemsplit.core.engine.device import configure_cpu_threads, is_out_of_memory, resolve_device
from stemsplit.core.engine.dsp import magnitude_shares
from stemsplit.core.engine.separator import (
    RESAMPLE_QUALITY,
    BackToSource,
    EngineOptions,
    Separator,
    check_input,
)
from stemsplit.core.errors import Cancelled, ModelError, StemsplitError
from stemsplit.core.models.htdemucs.apply import iter_apply, plan_streams
from stemsplit.core.models.info import ModelInfo
from stemsplit.core.stems import MaskBlock, Progress

MASK_FFT = 4096
MASK_HOP = 1024


class HTDemucsSeparator(Separator):
    """Holds an HT-Demucs model (or bag) on a device and separates audio with it."""

    def __init__(self, info: ModelInfo, device: str = "auto",
                 options: EngineOptions | None = None) -> None:
        self.info = info
        self.options = options or EngineOptions()
        if not 0 <= self.options.split_overlap < 1 or self.options.shifts < 0:
            raise StemsplitError("split_overlap must be in [0, 1) and shifts >= 0")
        self.device = resolve_device(device)
        if self.device.type == "cpu":
            configure_cpu_threads()
        stored = self.info.load_weights()
        if tuple(stored.sources) != tuple(self.info.stems):
            raise ModelError(f"the installed {self.info.name} separates "
                             f"{', '.join(stored.sources)}, not {', '.join(self.info.stems)}; "
                             "reinstall it")
        self.bag = stored.build()
        if self.options.segment_s is not None and \
                not 0 < self.options.segment_s <= self.bag.max_segment:
            raise StemsplitError(f"segment_s must be in (0, {float(self.bag.max_segment):.1f}] "
                                 f"s for {self.info.name}")
        self._place(self.device)

    def _place(self, device: torch.device) -> None:
        self.device = device
        for model in self.bag.models:
            model.to(device)

    def _forward(self, member: int, x: torch.Tensor, cancel: threading.Event | None
                 ) -> torch.Tensor:
        """One segment through one model: ``(1, C, L)`` CPU in, ``(1, S, C, L)`` CPU out."""
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        while True:
            try:
                with torch.inference_mode():
                    return self.bag.models[member](x.to(self.device)).float().cpu()
            except (RuntimeError, MemoryError) as exc:
                if not is_out_of_memory(exc) and not isinstance(exc, MemoryError):
                    raise
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                if self.device.type == "cpu":
                    raise StemsplitError("out of memory, even on the CPU; try a shorter "
                                         "segment") from exc
                self._place(torch.device("cpu"))  # retry this segment on the CPU
                configure_cpu_threads()

    def iter_separate(self, audio: np.ndarray, sample_rate: int,
                      cancel: threading.Event | None = None) -> Iterator[Progress]:
        """Separate ``(channels, samples)`` audio, yielding a Progress per network call.

        Mono is separated as dual-mono and returned mono. The stem blocks of all
        records, concatenated, cover the input exactly once, in order.

        Raises:
            Cancelled: when ``cancel`` is set (checked before every network call).
            StemsplitError: for input the engine cannot take.
        """
        source = check_input(audio, sample_rate)
        started = time.perf_counter()
        rate = self.bag.samplerate
        stereo = source if source.shape[0] == 2 else np.repeat(source, 2, axis=0)
        if sample_rate != rate:
            stereo = soxr.resample(stereo.T, sample_rate, rate, quality=RESAMPLE_QUALITY).T
        mix = torch.from_numpy(np.ascontiguousarray(stereo, dtype=np.float32))
        # demucs's front ends normalise by the whole song and undo it afterwards
        ref = mix.mean(dim=0)
        mean, std = float(ref.mean()), float(ref.std()) if ref.numel() > 1 else 0.0
        std = std if std > 1e-8 else 1.0
        back = BackToSource(source, self.stems, sample_rate, rate)
        masks = DisplayMasks(mix.numpy(), rate)
        n_model = mix.shape[-1]
        opts = self.options
        steps = iter_apply(self.bag, (mix - mean) / std, overlap=opts.split_overlap,
                           segment=opts.segment_s, shifts=opts.shifts,
                           rng=random.Random(opts.seed),
                           forward=lambda i, x: self._forward(i, x, cancel))
        total = sum(len(s.starts) for s in plan_streams(
            self.bag, n_model, opts.split_overlap, opts.segment_s, opts.shifts,
            random.Random(opts.seed)))
        yield Progress(0.0, 0.0, None, 0, total, self.device.type)
        for step in steps:
            last = step.done == step.total
            block = mask = None
            if step.audio.shape[-1] or last:
                y = step.audio.numpy() * std + mean                       # (S, 2, n)
                block = back.push(y, last=last)
                mask = masks.push(step.start, y, last=last or
                                  step.start + y.shape[-1] >= n_model)
            elapsed = time.perf_counter() - started
            fraction = step.done / step.total
            yield Progress(fraction=fraction, elapsed_s=elapsed,
                           eta_s=elapsed * (1 - fraction) / fraction,
                           chunk=step.done, n_chunks=step.total, device=self.device.type,
                           stems=block, masks=mask)


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
