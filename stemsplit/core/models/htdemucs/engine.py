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

from stemsplit.core.engine.device import configure_cpu_threads, resolve_device
from stemsplit.core.engine.display_masks import DisplayMasks
from stemsplit.core.engine.oom import with_cpu_fallback
from stemsplit.core.engine.precision import Precision, resolve_precision
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
from stemsplit.core.stems import Progress


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

    def _place(self, device: torch.device, fallback: bool = False) -> None:
        self.device = device
        choice = "auto" if fallback and self.options.precision == "fp16" else \
            self.options.precision
        self.precision: Precision = resolve_precision(choice, device)
        for model in self.bag.models:
            model.to(device)
            model.compute_dtype = self.precision.dtype if self.precision.reduced else None

    def _forward(self, member: int, x: torch.Tensor, cancel: threading.Event | None
                 ) -> torch.Tensor:
        """One segment through one model: ``(1, C, L)`` CPU in, ``(1, S, C, L)`` CPU out."""
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        def call() -> torch.Tensor:
            with torch.inference_mode():
                return self.bag.models[member](x.to(self.device)).float().cpu()

        return with_cpu_fallback(  # retry this segment on the CPU
            call, lambda: self.device, lambda: self._place(torch.device("cpu"), fallback=True),
            "out of memory, even on the CPU; try a shorter segment")

    def _iter_stems(self, audio: np.ndarray, sample_rate: int,
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
