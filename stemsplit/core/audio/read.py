"""Reading audio files: soundfile first, PyAV (bundled FFmpeg) for everything else.

Every failure becomes an AudioLoadError whose message names the file and the
reason in words a musician understands.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from stemsplit.core.errors import AudioLoadError

MAX_CHANNELS = 2
# What File > Open offers; anything FFmpeg decodes is still accepted.
AUDIO_EXTENSIONS = (".wav", ".aif", ".aiff", ".flac", ".ogg", ".oga", ".opus", ".mp3",
                    ".m4a", ".aac", ".alac", ".mp4", ".wma", ".webm", ".mka", ".caf")


@dataclass(frozen=True)
class Audio:
    """Decoded audio: ``samples`` is ``(channels, frames)`` float32 at ``sample_rate``."""

    samples: np.ndarray
    sample_rate: int
    path: Path | None = None
    original_channels: int = 0  # before any downmix; 0 when unknown

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def frames(self) -> int:
        return self.samples.shape[1]

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def load_audio(path: str | Path, downmix: bool = False) -> Audio:
    """Decode a whole file to float32 ``(channels, frames)`` at its own rate.

    Args:
        path: the file; it is only read, never modified.
        downmix: fold more than two channels to stereo instead of refusing.

    Raises:
        AudioLoadError: missing, empty, corrupt, unsupported or >2 channels.
    """
    path = Path(path)
    if not path.exists():
        raise AudioLoadError(f"{path.name}: file not found")
    if path.is_dir():
        raise AudioLoadError(f"{path.name}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioLoadError(f"{path.name}: the file is empty")
    try:
        samples, rate = _read_with_soundfile(path)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        samples, rate = _decode_with_ffmpeg(path)
    except OSError as exc:
        raise AudioLoadError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from exc
    if samples.shape[1] == 0:
        raise AudioLoadError(f"{path.name}: the file holds no audio")
    if not np.isfinite(samples).all():
        raise AudioLoadError(f"{path.name}: the file contains invalid (NaN or infinite) samples")
    original = samples.shape[0]
    if original > MAX_CHANNELS:
        if not downmix:
            raise AudioLoadError(
                f"{path.name}: has {original} channels; stemsplit separates mono or stereo. "
                "Use --downmix (or mix it to stereo first)")
        samples = downmix_to_stereo(samples)
    return Audio(samples, int(rate), path, original)


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


def _read_with_soundfile(path: Path) -> tuple[np.ndarray, int]:
    """Read straight into a ``(channels, frames)`` array, block by block (no second copy)."""
    with sf.SoundFile(path) as f:
        frames = f.frames if f.seekable() and f.frames > 0 else -1
        if frames < 0:  # length unknown: let soundfile grow the buffer
            return np.ascontiguousarray(f.read(dtype="float32", always_2d=True).T), f.samplerate
        out = np.empty((f.channels, frames), dtype=np.float32)
        pos = 0
        while pos < frames:
            block = f.read(min(READ_BLOCK, frames - pos), dtype="float32", always_2d=True)
            if not len(block):
                break  # truncated file: keep what is there
            out[:, pos: pos + len(block)] = block.T
            pos += len(block)
        return out[:, :pos], f.samplerate


def _decode_with_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    """Decode with PyAV (FFmpeg bundled in its wheel): M4A/AAC/ALAC, WMA and the rest."""
    import av  # only needed for formats libsndfile lacks

    try:
        with av.open(str(path)) as container:
            streams = container.streams.audio
            if not streams:
                raise AudioLoadError(f"{path.name}: contains no audio stream")
            stream = streams[0]
            rate = stream.codec_context.sample_rate or stream.rate
            channels = stream.codec_context.channels
            if not rate or not channels:
                raise AudioLoadError(f"{path.name}: the audio stream has no sample rate")
            blocks = []
            for frame in container.decode(stream):
                block = frame.to_ndarray()
                if frame.format.is_planar:
                    blocks.append(block.reshape(frame.layout.nb_channels, -1))
                else:  # interleaved: (1, samples * channels)
                    blocks.append(block.reshape(-1, frame.layout.nb_channels).T)
    except AudioLoadError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise AudioLoadError(f"{path.name}: not a readable audio file ({reason})") from exc
    if not blocks:
        raise AudioLoadError(f"{path.name}: the file holds no audio")
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


def probe_duration(path: str | Path) -> float | None:
    """Seconds of audio without decoding, when the container says; None if unknown."""
    try:
        return sf.info(str(path)).duration
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError):
        pass
    try:
        import av

        with av.open(str(path)) as container:
            if container.duration:
                return container.duration / 1_000_000
    except Exception:  # noqa: BLE001 - a probe never fails the caller
        return None
    return None
