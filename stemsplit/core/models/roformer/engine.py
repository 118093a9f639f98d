"""The separation engine for RoFormer models, with the same interface as ``Separator``.

Flow: input at its own rate -> the model's rate (soxr) and channels (a stereo
model hears mono as dual-mono; a mono model hears each channel on its own) ->
chunks of the model's own ``chunk_size`` with a configurable overlap, cross-faded
so the weights sum to one (``engine.chunking``), one chunk at a time on the
device -> back to the input's rate, where the last stem is the input minus the
others, so the stems sum to the input exactly. Display masks are |stem| / |mix|
of the finished audio (``engine.display_masks``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import soxr
import torch

from stemsplit.core.engine.chunking import crossfade_weights, plan_chunks
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
    slice_padded,
)
from stemsplit.core.errors import Cancelled, ModelError, StemsplitError
from stemsplit.core.models.info import ModelInfo
from stemsplit.core.models.roformer.checkpoint import RoformerWeights
from stemsplit.core.models.roformer.spec import separate_chunk
from stemsplit.core.stems import Progress


class RoformerSeparator(Separator):
    """Holds a RoFormer network on a device and separates audio with it."""

    def __init__(self, info: ModelInfo, device: str = "auto",
                 options: EngineOptions | None = None,
                 weights: RoformerWeights | None = None) -> None:
        self.info = info
        self.options = options or EngineOptions()
        if not 0 <= self.options.split_overlap < 1:
            raise StemsplitError("split_overlap must be in [0, 1)")
        self.device = resolve_device(device)
        if self.device.type == "cpu":
            configure_cpu_threads()
        stored = weights if weights is not None else self.info.load_weights()
        self.config = stored.config
        if self.config.stems != tuple(self.info.stems):
            raise ModelError(f"the installed {self.info.name} separates "
                             f"{', '.join(self.config.stems)}, not "
                             f"{', '.join(self.info.stems)}; reinstall it")
        self.net = stored.build()
        self._place(self.device)

    def _place(self, device: torch.device, fallback: bool = False) -> None:
        self.device = device
        self.net.to(device)
        # fp16 asked for the GPU does not carry over to the CPU fallback: "auto" there
        choice = "auto" if fallback and self.options.precision == "fp16" else \
            self.options.precision
        self.precision: Precision = resolve_precision(choice, device)
        self.autocast = (device.type, self.precision.dtype) if self.precision.reduced else None

    def _forward(self, chunk: np.ndarray, cancel: threading.Event | None) -> np.ndarray:
        """``(B, C, L)`` model-rate chunk -> ``(B, S_net, C, L)``, on the device, CPU out."""
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        x = torch.from_numpy(np.ascontiguousarray(chunk))

        def call() -> np.ndarray:
            ctx = None if self.autocast is None else torch.autocast(
                self.autocast[0], dtype=self.autocast[1])
            with torch.inference_mode():
                return separate_chunk(self.net, x.to(self.device), ctx).float().cpu().numpy()

        return with_cpu_fallback(call, lambda: self.device,
                                 lambda: self._place(torch.device("cpu"), fallback=True))

    def _model_audio(self, source: np.ndarray, sample_rate: int) -> np.ndarray:
        """``(C_model_or_2, n)`` at the model's rate: stereo for a stereo model."""
        x = source
        if self.config.stereo and x.shape[0] == 1:
            x = np.repeat(x, 2, axis=0)
        if sample_rate != self.config.sample_rate:
            x = soxr.resample(x.T, sample_rate, self.config.sample_rate,
                              quality=RESAMPLE_QUALITY).T
        return np.ascontiguousarray(x, dtype=np.float32)

    def _iter_stems(self, audio: np.ndarray, sample_rate: int,
                      cancel: threading.Event | None = None) -> Iterator[Progress]:
        """Separate ``(channels, samples)`` audio, yielding a Progress per chunk.

        The stem blocks of all records, concatenated, cover the input exactly
        once, in order; the masks of a chunk come with it.

        Raises:
            Cancelled: when ``cancel`` is set (checked before every chunk).
            StemsplitError: for input the engine cannot take.
        """
        source = check_input(audio, sample_rate)
        started = time.perf_counter()
        cfg = self.config
        mix = self._model_audio(source, sample_rate)                         # (C, n)
        n = mix.shape[-1]
        length = cfg.chunk_size
        overlap = min(int(round(self.options.split_overlap * length)), length - 1)
        chunks = plan_chunks(n, length, overlap)
        back = BackToSource(source, self.stems, sample_rate, cfg.sample_rate)
        masks = DisplayMasks(mix, cfg.sample_rate)
        n_stems = len(self.stems)
        acc = np.zeros((n_stems, mix.shape[0], 0), np.float32)               # from `base`
        base = 0
        yield Progress(0.0, 0.0, None, 0, len(chunks), self.device.type)
        for chunk in chunks:
            part = slice_padded(mix, chunk.start, length)                   # (C, L)
            # a mono network hears each channel on its own (a batch of channels)
            batch = part[None] if cfg.stereo else part[:, None]
            out = self._forward(batch, cancel)                               # (B, S_net, C', L)
            est = out[0] if cfg.stereo else out[:, :, 0].transpose(1, 0, 2)  # (S_net, C, L)
            est = est * crossfade_weights(chunk)
            stems = np.zeros((n_stems, mix.shape[0], length), np.float32)
            k = min(est.shape[0], n_stems - 1)  # the last stem is the remainder
            stems[:k] = est[:k]
            end = min(chunk.start + length, n)
            need = end - base
            if acc.shape[-1] < need:
                acc = np.concatenate(
                    [acc, np.zeros((*acc.shape[:2], need - acc.shape[-1]), np.float32)], -1)
            acc[..., chunk.start - base: end - base] += stems[..., : end - chunk.start]
            last = chunk.index == len(chunks) - 1
            final = n if last else chunks[chunk.index + 1].start
            ready, acc = acc[..., : final - base], acc[..., final - base:]
            block = mask = None
            if ready.shape[-1] or last:
                block = back.push(ready, last=last)
                mask = masks.push(base, ready, last=last)
            base = final
            elapsed = time.perf_counter() - started
            fraction = (chunk.index + 1) / len(chunks)
            yield Progress(fraction=fraction, elapsed_s=elapsed,
                           eta_s=elapsed * (1 - fraction) / fraction,
                           chunk=chunk.index + 1, n_chunks=len(chunks),
                           device=self.device.type, stems=block, masks=mask)
