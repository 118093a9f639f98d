"""The Spleeter family's engine: chunked U-Net inference with overlap-add, yielding progress.

Flow: input at its own rate -> model rate (soxr) -> overlapping chunks of
``frames`` STFT frames -> U-Nets -> ratio masks, extended to the full band ->
masked mixture STFT -> iSTFT -> cross-faded overlap-add -> back to the input's
rate. The whole song stays on the CPU; only a batch of chunks visits the device.
The last stem is the input minus the others, at the input's own rate, so the
stems sum back to the input exactly even after two resamplings.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import soxr
import torch

from stemsplit.core.engine import dsp
from stemsplit.core.engine.device import configure_cpu_threads, is_out_of_memory, resolve_device
from stemsplit.core.engine.overlap_add import iter_overlap_add
from stemsplit.core.engine.precision import Precision, resolve_precision
from stemsplit.core.engine.separator import (
    RESAMPLE_QUALITY,
    EngineOptions,
    Separator,
    check_input,
)
from stemsplit.core.errors import StemsplitError
from stemsplit.core.models.info import ModelInfo
from stemsplit.core.models.spleeter import prepared
from stemsplit.core.models.spleeter.fused import FusedStemUNets
from stemsplit.core.models.spleeter.unet import StemUNets
from stemsplit.core.models.spleeter.weights import load_into
from stemsplit.core.stems import Progress


class SpleeterSeparator(Separator):
    """Holds a Spleeter-family model (one U-Net per stem) on a device and separates with it."""

    def __init__(self, info: ModelInfo, device: str = "auto",
                 options: EngineOptions | None = None) -> None:
        self.info = info
        self.options = options or EngineOptions()
        if self.options.extension not in dsp.EXTENSIONS:
            raise StemsplitError(f"unknown band extension {self.options.extension!r}")
        self.device = resolve_device(device)
        if self.device.type == "cpu":
            configure_cpu_threads()
        self.bins = self.options.model_bins or self.info.bins
        if self.bins % 64 or self.bins > self.info.n_fft // 2:
            raise StemsplitError("model_bins must be a multiple of 64 within the spectrum")
        self._net: StemUNets | None = None
        self._place(self.device)
        self._batch = max(1, self.options.batch_size)

    @property
    def net(self) -> StemUNets:
        """The U-Nets as modules (the reference the fused network is built from); made only
        when needed, since the fused network usually comes from the cache (``prepared``)."""
        if self._net is None:
            # built plainly: a "meta" build + to_empty would skip the random init, but
            # to_empty pulls in torch's symbolic-shape code (sympy), which the frozen app
            # leaves out; the init costs little and only when the cache cannot serve
            net = StemUNets(len(self.info.stems), self.info.unet)
            for stem, arrays, one in zip(self.info.stems, self.info.load_weights(), net.nets,
                                         strict=True):
                load_into(one, arrays, f"{self.info.name} weights for {stem}")
            self._net = net.eval()
        return self._net

    def _place(self, device: torch.device, fallback: bool = False) -> None:
        self.device = device
        # falling back to the CPU after running out of GPU memory: fp16 has no CPU kernels
        choice = "auto" if fallback and self.options.precision == "fp16" else \
            self.options.precision
        self.precision: Precision = resolve_precision(choice, device)
        # batch-norm folded, bf16 kernels where native, channels_last (~1.4x on CPUs)
        dtype = self.precision.dtype
        self.fused = prepared.fused_unets(self.info, dtype, device,
                                          lambda: FusedStemUNets(self.net, dtype, device))
        self.window = dsp.hann(self.info.n_fft, device)

    # -- one batch of chunks through the network ---------------------------------------

    @torch.inference_mode()
    def _run_batch(self, chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(B, 2, L)`` audio -> all stems but the last ``(S-1, B, 2, L)`` and display masks
        ``(S, B, K, T)``. The last stem is the input minus the others (``BackToSource``), so
        its iSTFT would be thrown away."""
        info = self.info
        b, c, length = chunks.shape
        x = torch.from_numpy(chunks).to(self.device)
        spec = dsp.stft(x.reshape(b * c, length), info.n_fft, info.hop, self.window)
        spec = spec.reshape(b, c, *spec.shape[-2:])                       # (B, 2, K, T)
        mag = spec[:, :, : self.bins].abs().transpose(2, 3).contiguous(
            memory_format=torch.channels_last)                            # (B, 2, T, F)
        soft = self.fused(mag)                                # (S, B, 2, T, F) float32
        masks = dsp.ratio_masks(soft, mag)
        mode, bins = self.options.extension, spec.shape[2]
        fill = dsp.band_fill(masks, mode)
        # the extension is linear, so the display's mean over channels can come first
        display = dsp.extend_masks(masks.mean(dim=2), bins, mode)         # (S, B, T, K)
        audio = dsp.istft(dsp.masked_spectrum(spec, masks[:-1], fill[:-1]), info.n_fft,
                          info.hop, self.window, length)
        return audio.cpu().numpy(), display.transpose(-1, -2).contiguous().cpu().numpy()

    def _run_batch_safely(self, chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Retry with smaller batches, then on the CPU, when the device runs out of memory."""
        while True:
            try:
                if len(chunks) <= self._batch:
                    return self._run_batch(chunks)
                parts = [self._run_batch(chunks[i: i + self._batch])
                         for i in range(0, len(chunks), self._batch)]
                return (np.concatenate([p[0] for p in parts], axis=1),
                        np.concatenate([p[1] for p in parts], axis=1))
            except (RuntimeError, MemoryError) as exc:
                if not is_out_of_memory(exc) and not isinstance(exc, MemoryError):
                    raise
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                if self._batch > 1:
                    self._batch //= 2
                elif self.device.type != "cpu":
                    self._place(torch.device("cpu"), fallback=True)
                    configure_cpu_threads()
                else:
                    raise StemsplitError("out of memory, even one chunk at a time on the CPU") \
                        from exc

    # -- the public iterator -------------------------------------------------------------

    def _iter_stems(self, audio: np.ndarray, sample_rate: int,
                    cancel: threading.Event | None = None) -> Iterator[Progress]:
        """Separate ``(channels, samples)`` audio, yielding a Progress per finished chunk.

        Mono is separated as dual-mono and returned mono. The stem blocks of all
        records, concatenated, cover the input exactly once, in order.

        Raises:
            Cancelled: when ``cancel`` is set (checked before every batch).
            StemsplitError: for input the engine cannot take.
        """
        source = check_input(audio, sample_rate)
        info = self.info
        stereo = source if source.shape[0] == 2 else np.repeat(source, 2, axis=0)
        if sample_rate != info.sample_rate:
            stereo = soxr.resample(stereo.T, sample_rate, info.sample_rate,
                                   quality=RESAMPLE_QUALITY).T
        stereo = np.ascontiguousarray(stereo, dtype=np.float32)
        length = info.hop * (info.frames - 1)  # STFT of this many samples has `frames` frames
        overlap = min(length // 2, int(round(self.options.overlap_s * info.sample_rate / info.hop))
                      * info.hop)
        yield from iter_overlap_add(stereo, source, self.stems, sample_rate, info.sample_rate,
                                    length, overlap, info.hop, info.n_fft, self._run_batch_safely,
                                    lambda: self.device.type, self._batch, cancel)


