"""Reading audio files: soundfile first, PyAV (bundled FFmpeg) for everything else.

Every failure becomes an AudioLoadError whose message names the file (as the
caller gave it, control characters escaped) and the reason in words a musician
understands. Only regular files are read: a FIFO would block the reader
forever and a device such as ``/dev/zero`` never ends. The decoded size is
checked against the memory there is before anything is allocated, and a file
that holds less than its header promises is read with a warning
(:attr:`Audio.notes`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from stemsplit.core.audio.guards import (  # noqa: F401 - check_regular_file: part of the API
    check_memory,
    check_regular_file,
    libsndfile_quiet,
    wav_promised_frames,
)
from stemsplit.core.audio.write import sf_path
from stemsplit.core.errors import AudioLoadError, shown

MAX_CHANNELS = 2
# What File > Open offers; anything FFmpeg decodes is still accepted.
AUDIO_EXTENSIONS = (".wav", ".aif", ".aiff", ".flac", ".ogg", ".oga", ".opus", ".mp3",
                    ".m4a", ".aac", ".alac", ".mp4", ".wma", ".webm", ".mka", ".caf")
NOT_AUDIO = "is not an audio file stemsplit can read (or it is damaged)"


@dataclass(frozen=True)
class Audio:
    """Decoded audio: ``samples`` is ``(channels, frames)`` float32 at ``sample_rate``."""

    samples: np.ndarray
    sample_rate: int
    path: Path | None = None
    original_channels: int = 0  # before any downmix; 0 when unknown
    notes: tuple[str, ...] = ()  # warnings for the user (a truncated file), one sentence each

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def frames(self) -> int:
        return self.samples.shape[1]

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


@dataclass(frozen=True)
class AudioInfo:
    """What :func:`probe` learns without decoding."""

    duration_s: float | None
    sample_rate: int | None = None
    channels: int | None = None
    frames: int | None = None


def load_audio(path: str | Path, downmix: bool = False) -> Audio:
    """Decode a whole file to float32 ``(channels, frames)`` at its own rate.

    Args:
        path: the file; it is only read, never modified.
        downmix: fold more than two channels to stereo instead of refusing.

    Raises:
        AudioLoadError: missing, not a regular file, empty, corrupt, unsupported,
            too large for the memory there is, or >2 channels.
    """
    path = Path(path)
    name = shown(path)
    check_regular_file(path)
    notes: list[str] = []
    try:
        try:
            samples, rate = _read_with_soundfile(path, notes)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
            samples, rate = _decode_with_ffmpeg(path)
        except OSError as exc:
            raise AudioLoadError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    except MemoryError:
        raise AudioLoadError(f"{name}: not enough memory to decode this file") from None
    if samples.shape[1] == 0:
        raise AudioLoadError(f"{name}: the file holds no audio")
    if not np.isfinite(samples).all():
        raise AudioLoadError(f"{name}: the file contains invalid (NaN or infinite) samples")
    original = samples.shape[0]
    if original > MAX_CHANNELS:
        if not downmix:
            raise AudioLoadError(
                f"{name}: has {original} channels; stemsplit separates mono or stereo. "
                "Use --downmix (or mix it to stereo first)")
        samples = downmix_to_stereo(samples)
    return Audio(samples, int(rate), path, original, tuple(notes))


def downmix_to_stereo(samples: np.ndarray) -> np.ndarray:
    """Fold ``(C > 2, N)`` to stereo.

    5.1 and 7.1 in the usual WAV/FFmpeg order (L R C LFE Ls Rs [Lb Rb]) use the
    ITU-style fold (centre and surrounds at -3 dB, LFE dropped); any other layout
    sends odd channels left and even ones right. Scaled so a full-scale input
    cannot clip.
    """
    c = samples.shape[0]
    g = np.float32(np.sqrt(0.5))
    if c in (6, 8):
        left = samples[0] + g * samples[2] + g * samples[4] + (g * samples[6] if c == 8 else 0)
        right = samples[1] + g * samples[2] + g * samples[5] + (g * samples[7] if c == 8 else 0)
        scale = 1.0 + g * (2 if c == 6 else 3)
    else:
        left, right = samples[0::2].sum(axis=0), samples[1::2].sum(axis=0)
        scale = float(max((c + 1) // 2, 1))
    return (np.stack([left, right]) / np.float32(scale)).astype(np.float32)


READ_BLOCK = 1 << 20  # frames per read: keeps the peak near one copy of the song
SALVAGE_BLOCK = 4096  # frames per read once a stream turned out damaged


def _read_with_soundfile(path: Path, notes: list[str]) -> tuple[np.ndarray, int]:
    """Read straight into a ``(channels, frames)`` array, block by block (no second copy)."""
    with libsndfile_quiet(), sf.SoundFile(sf_path(path)) as f:
        frames = f.frames if f.seekable() and f.frames > 0 else -1
        if frames < 0:  # length unknown: let soundfile grow the buffer
            return np.ascontiguousarray(f.read(dtype="float32", always_2d=True).T), f.samplerate
        check_memory(path, frames * f.channels * 4)
        out = np.empty((f.channels, frames), dtype=np.float32)
        pos = 0
        while pos < frames:
            try:
                block = f.read(min(READ_BLOCK, frames - pos), dtype="float32", always_2d=True)
            except sf.LibsndfileError:  # a damaged or cut stream ("flac decoder lost sync")
                pos = _salvage(path, out, pos)
                break
            if not len(block):
                break  # truncated file: keep what is there
            out[:, pos: pos + len(block)] = block.T
            pos += len(block)
        if pos == 0:
            raise sf.LibsndfileError(0, prefix="no frame decodes")  # then FFmpeg tries
        promised = max(frames, wav_promised_frames(path, f.channels, f.subtype) or 0)
        if 0 < pos < promised:
            notes.append(f"{shown(path)}: holds only {pos / f.samplerate:.1f} s of the "
                         f"{promised / f.samplerate:.1f} s its header promises (the file is "
                         "truncated); what is there is used")
        return out[:, :pos], f.samplerate


def _salvage(path: Path, out: np.ndarray, pos: int) -> int:
    """Keep what decodes of a damaged stream past ``pos``, in small steps, on a fresh handle
    (libsndfile cannot seek once its decoder lost sync); returns the frames kept."""
    with sf.SoundFile(sf_path(path)) as f:
        try:
            f.seek(pos)
        except sf.LibsndfileError:
            return pos
        while pos < out.shape[1]:
            try:
                block = f.read(min(SALVAGE_BLOCK, out.shape[1] - pos), dtype="float32",
                               always_2d=True)
            except sf.LibsndfileError:
                break
            if not len(block):
                break
            out[:, pos: pos + len(block)] = block.T
            pos += len(block)
    return pos


@contextlib.contextmanager
def _av_open(path: Path):
    """``av.open`` for any name: PyAV cannot open a name that is not UTF-8 (an old archive's
    ``caf\xe9.wav``), so such a file is handed to it open."""
    import av

    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        with open(path, "rb") as fh, av.open(fh) as container:
            yield container
        return
    with av.open(str(path)) as container:
        yield container


def _decode_with_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    """Decode with PyAV (FFmpeg bundled in its wheel): M4A/AAC/ALAC, WMA and the rest."""

    name = shown(path)
    try:
        with _av_open(path) as container:
            streams = container.streams.audio
            if not streams:
                raise AudioLoadError(f"{name}: {NOT_AUDIO} (it holds no audio stream)")
            stream = streams[0]
            if stream.codec_context is None:
                raise AudioLoadError(f"{name}: {NOT_AUDIO}")
            rate = stream.codec_context.sample_rate or stream.rate
            channels = stream.codec_context.channels
            if not rate or not channels:
                raise AudioLoadError(f"{name}: {NOT_AUDIO}")
            if container.duration and container.duration > 0:
                check_memory(path, int(container.duration / 1e6 * rate * channels * 4))
            blocks = []
            for frame in container.decode(stream):
                block = frame.to_ndarray()
                if frame.format.is_planar:
                    blocks.append(block.reshape(frame.layout.nb_channels, -1))
                else:  # interleaved: (1, samples * channels)
                    blocks.append(block.reshape(-1, frame.layout.nb_channels).T)
    except AudioLoadError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - FFmpeg's errors are many; all mean "not audio"
        raise AudioLoadError(f"{name}: {NOT_AUDIO}") from exc
    if not blocks:
        raise AudioLoadError(f"{name}: the file holds no audio")
    if len({b.shape[0] for b in blocks}) > 1:  # a stream that changes its layout midway
        raise AudioLoadError(f"{name}: {NOT_AUDIO} (its channel count changes)")
    samples = np.concatenate(blocks, axis=1)
    samples = _to_float32(samples)
    return np.ascontiguousarray(samples), int(rate)


def _to_float32(samples: np.ndarray) -> np.ndarray:
    if samples.dtype.kind == "f":
        return samples.astype(np.float32, copy=False)
    if samples.dtype.kind == "i":
        return (samples / np.float32(2 ** (8 * samples.dtype.itemsize - 1))).astype(np.float32)
    if samples.dtype.kind == "u":  # 8-bit unsigned PCM
        half = 2 ** (8 * samples.dtype.itemsize - 1)
        return ((samples.astype(np.float32) - half) / half).astype(np.float32)
    raise AudioLoadError(f"unsupported sample type {samples.dtype}")


def probe(path: str | Path) -> AudioInfo:
    """What the container says about a file, without decoding it.

    Raises:
        AudioLoadError: not a regular file, empty, or not audio at all.
    """
    path = Path(path)
    check_regular_file(path)
    try:
        with libsndfile_quiet():
            info = sf.info(sf_path(path))
        if info.samplerate > 0 and info.channels > 0:
            return AudioInfo(info.duration, info.samplerate, info.channels, info.frames)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError,
            ZeroDivisionError):
        pass
    try:

        with _av_open(path) as container:
            streams = container.streams.audio
            if not streams:
                raise AudioLoadError(f"{shown(path)}: {NOT_AUDIO} (it holds no audio stream)")
            ctx = streams[0].codec_context
            if ctx is None or not (ctx.sample_rate and ctx.channels):
                raise AudioLoadError(f"{shown(path)}: {NOT_AUDIO}")
            seconds = container.duration / 1_000_000 if container.duration else None
            return AudioInfo(seconds, ctx.sample_rate, ctx.channels)
    except AudioLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - FFmpeg's errors are many; all mean "not audio"
        raise AudioLoadError(f"{shown(path)}: {NOT_AUDIO}") from exc


def probe_duration(path: str | Path) -> float | None:
    """Seconds of audio without decoding, when the container says; None if unknown
    (including a file that is not readable audio: loading it says why)."""
    try:
        return probe(path).duration_s
    except AudioLoadError:
        return None
