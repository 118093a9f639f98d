"""The separation engine: chunked U-Net inference with overlap-add, yielding progress.

Flow: input at its own rate -> model rate (soxr) -> overlapping chunks of
``frames`` STFT frames -> U-Nets -> ratio masks, extended to the full band ->
masked mixture STFT -> iSTFT -> cross-faded overlap-add -> back to the input's
rate. The whole song stays on the CPU; only a batch of chunks visits the device.
The last stem is the input minus the others, at the input's own rate, so the
stems sum back to the input exactly even after two resamplings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import soxr
import torch

from stemsplit.core import dsp
from stemsplit.core.chunking import crossfade_weights, plan_chunks
from stemsplit.core.device import configure_cpu_threads, is_out_of_memory, resolve_device
from stemsplit.core.errors import Cancelled, StemsplitError
from stemsplit.core.registry import DEFAULT_MODEL, ModelInfo, get_model
from stemsplit.core.resampling import fit_length
from stemsplit.core.stems import MaskBlock, Progress, StemBlock, StemSet
from stemsplit.core.unet import StemUNets
from stemsplit.core.weights import load_into

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
    """

    overlap_s: float = 1.0
    batch_size: int = 1
    extension: str = "average"
    model_bins: int | None = None
    split_overlap: float = 0.25
    segment_s: float | None = None
    shifts: int = 0
    seed: int = 0


class Separator:
    """Holds a model on a device and separates audio with it.

    ``Separator(name)`` for an HT-Demucs model gives its engine
    (``htdemucs.engine.HTDemucsSeparator``), which has the same interface.
    """

    def __new__(cls, model: str | ModelInfo = DEFAULT_MODEL, device: str = "auto",
                options: EngineOptions | None = None):
        if cls is Separator:
            info = model if isinstance(model, ModelInfo) else get_model(model)
            if info.family == "htdemucs":
                from stemsplit.core.htdemucs.engine import HTDemucsSeparator

                return super().__new__(HTDemucsSeparator)
        return super().__new__(cls)

    def __init__(self, model: str | ModelInfo = DEFAULT_MODEL, device: str = "auto",
                 options: EngineOptions | None = None) -> None:
        self.info = model if isinstance(model, ModelInfo) else get_model(model)
        self.options = options or EngineOptions()
        if self.options.extension not in dsp.EXTENSIONS:
            raise StemsplitError(f"unknown band extension {self.options.extension!r}")
        self.device = resolve_device(device)
        if self.device.type == "cpu":
            configure_cpu_threads()
        self.bins = self.options.model_bins or self.info.bins
        if self.bins % 64 or self.bins > self.info.n_fft // 2:
            raise StemsplitError("model_bins must be a multiple of 64 within the spectrum")
        self.net = StemUNets(len(self.info.stems), self.info.unet)
        for stem, arrays, net in zip(self.info.stems, self.info.load_weights(), self.net.nets,
                                     strict=True):
            load_into(net, arrays, f"{self.info.name} weights for {stem}")
        self.net.eval()
        self._place(self.device)
        self._batch = max(1, self.options.batch_size)

    @property
    def stems(self) -> tuple[str, ...]:
        return self.info.stems

    def _place(self, device: torch.device) -> None:
        self.device = device
        # channels_last makes the CPU convolutions ~1.4x faster (measured, DESIGN.md).
        self.net.to(device=device, memory_format=torch.channels_last)
        self.net.prepare_inference()
        self.window = dsp.hann(self.info.n_fft, device)

    # -- one batch of chunks through the network ---------------------------------------

    @torch.inference_mode()
    def _run_batch(self, chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(B, 2, L)`` audio -> stems ``(S, B, 2, L)`` and display masks ``(S, B, K, T)``."""
        info = self.info
        b, c, length = chunks.shape
        x = torch.from_numpy(chunks).to(self.device)
        spec = dsp.stft(x.reshape(b * c, length), info.n_fft, info.hop, self.window)
        spec = spec.reshape(b, c, *spec.shape[-2:])                       # (B, 2, K, T)
        mag = spec[:, :, : self.bins].abs().transpose(2, 3).contiguous(
            memory_format=torch.channels_last)                            # (B, 2, T, F)
        soft = self.net(mag)                                              # (S, B, 2, T, F)
        masks = dsp.ratio_masks(soft, mag)
        masks = dsp.extend_masks(masks, spec.shape[2], self.options.extension)
        masks = masks.transpose(-1, -2)                                   # (S, B, 2, K, T)
        audio = dsp.istft(spec.unsqueeze(0) * masks, info.n_fft, info.hop, self.window, length)
        return audio.cpu().numpy(), masks.mean(dim=2).cpu().numpy()

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
                    self._place(torch.device("cpu"))
                    configure_cpu_threads()
                else:
                    raise StemsplitError("out of memory, even one chunk at a time on the CPU") \
                        from exc

    # -- the public iterator -------------------------------------------------------------

    def iter_separate(self, audio: np.ndarray, sample_rate: int,
                      cancel: threading.Event | None = None) -> Iterator[Progress]:
        """Separate ``(channels, samples)`` audio, yielding a Progress per finished chunk.

        Mono is separated as dual-mono and returned mono. The stem blocks of all
        records, concatenated, cover the input exactly once, in order.

        Raises:
            Cancelled: when ``cancel`` is set (checked before every batch).
            StemsplitError: for input the engine cannot take.
        """
        source = _check_input(audio, sample_rate)
        started = time.perf_counter()
        info = self.info
        stereo = source if source.shape[0] == 2 else np.repeat(source, 2, axis=0)
        if sample_rate != info.sample_rate:
            stereo = soxr.resample(stereo.T, sample_rate, info.sample_rate,
                                   quality=RESAMPLE_QUALITY).T
        stereo = np.ascontiguousarray(stereo, dtype=np.float32)
        n_model = stereo.shape[1]
        length = info.hop * (info.frames - 1)  # STFT of this many samples has `frames` frames
        overlap = min(length // 2, int(round(self.options.overlap_s * info.sample_rate / info.hop))
                      * info.hop)
        chunks = plan_chunks(n_model, length, overlap)
        back = _BackToSource(source, self.stems, sample_rate, info.sample_rate)
        yield Progress(0.0, 0.0, None, 0, len(chunks), self.device.type)

        tail = None  # weighted overlap of the previous chunk, waiting for the next
        group = max(1, self._batch)
        for first in range(0, len(chunks), group):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            batch = chunks[first: first + group]
            audio_out, masks = self._run_batch_safely(
                np.stack([_slice_padded(stereo, c.start, c.length) for c in batch]))
            for j, c in enumerate(batch):
                y = audio_out[:, j] * crossfade_weights(c)
                if tail is not None:
                    y[..., : c.fade_in] += tail
                done_end = min(c.start + c.length - c.fade_out, n_model)
                tail = y[..., c.length - c.fade_out:] if c.fade_out else None
                block = back.push(y[..., : done_end - c.start], last=c.index == len(chunks) - 1)
                fraction = (c.index + 1) / len(chunks)
                elapsed = time.perf_counter() - started
                yield Progress(
                    fraction=fraction, elapsed_s=elapsed,
                    eta_s=elapsed * (1 - fraction) / fraction,
                    chunk=c.index + 1, n_chunks=len(chunks), device=self.device.type,
                    stems=block,
                    masks=MaskBlock(c.start // info.hop, masks[:, j],
                                    info.hop / info.sample_rate,
                                    info.sample_rate / info.n_fft),
                )

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


def _check_input(audio: np.ndarray, sample_rate: int) -> np.ndarray:
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


def _slice_padded(x: np.ndarray, start: int, length: int) -> np.ndarray:
    part = x[:, start: start + length]
    if part.shape[1] < length:
        part = np.pad(part, ((0, 0), (0, length - part.shape[1])))
    return part


class _BackToSource:
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
