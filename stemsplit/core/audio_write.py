"""All audio writing: formats, bit depths, dither, clipping, atomic files.

Files are written to a hidden temporary name in the target folder and renamed
into place only when complete, so a full disk, a cancel or a crash never leaves
a half-written file under the real name, and an existing file is replaced only
when the caller says so.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from stemsplit.core.errors import AudioWriteError

FORMATS = {"wav": "WAV", "flac": "FLAC", "aiff": "AIFF"}
BIT_DEPTHS = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}
# FLAC stores integers only.
ALLOWED = {("flac", "32f"): False}


@dataclass(frozen=True)
class OutputFormat:
    """How to encode: container and sample type."""

    format: str = "wav"
    bit_depth: str = "24"

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise AudioWriteError(f"unknown format {self.format!r}; choose from "
                                  f"{', '.join(FORMATS)}")
        if self.bit_depth not in BIT_DEPTHS:
            raise AudioWriteError(f"unknown bit depth {self.bit_depth!r}; choose from "
                                  f"{', '.join(BIT_DEPTHS)}")
        if not ALLOWED.get((self.format, self.bit_depth), True):
            raise AudioWriteError("FLAC cannot store 32-bit float; use 16 or 24 bit")

    @property
    def extension(self) -> str:
        return {"aiff": "aif"}.get(self.format, self.format)

    @property
    def is_integer(self) -> bool:
        return self.bit_depth != "32f"


class AudioWriter:
    """Streams blocks into ``path`` through a temporary file; ``commit`` renames it in place.

    Use as a context manager: leaving the block without ``commit`` (an exception,
    a cancel) deletes the temporary file and leaves ``path`` untouched.

    Clipping policy: float output keeps peaks above full scale as they are;
    integer output clips them (counted in ``clipped``) after TPDF dither at
    16 bit, so callers can warn or normalise beforehand.
    """

    def __init__(self, path: str | Path, sample_rate: int, channels: int,
                 fmt: OutputFormat = OutputFormat(), overwrite: bool = False,
                 seed: int | None = 0) -> None:
        self.path = Path(path)
        self.fmt = fmt
        self.overwrite = overwrite
        self.clipped = 0
        self.frames = 0
        self._rng = np.random.default_rng(seed)
        if self.path.exists() and not overwrite:
            raise AudioWriteError(f"{self.path} already exists (not overwritten)")
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial", dir=folder)
            os.close(fd)
        except OSError as exc:
            raise AudioWriteError(f"cannot write to {folder}: {exc.strerror or exc}") from exc
        self._tmp = Path(tmp)
        try:
            self._file = sf.SoundFile(self._tmp, "w", sample_rate, channels,
                                      subtype=BIT_DEPTHS[fmt.bit_depth],
                                      format=FORMATS[fmt.format])
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            self._tmp.unlink(missing_ok=True)
            raise AudioWriteError(f"cannot write {self.path.name}: {exc}") from exc

    def write(self, block: np.ndarray) -> None:
        """Append ``(channels, n)`` float samples."""
        data = np.asarray(block, dtype=np.float32).T
        if self.fmt.is_integer:
            if self.fmt.bit_depth == "16":
                data = data + tpdf_dither(data.shape, 16, self._rng)
            over = np.abs(data) > 1.0
            self.clipped += int(over.sum())
            if self.clipped:
                data = np.clip(data, -1.0, 1.0)
        try:
            self._file.write(data)
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            self.abort()
            raise AudioWriteError(_disk_message(self.path, exc)) from exc
        self.frames += data.shape[0]

    def commit(self) -> Path:
        """Finish the file and move it to its real name."""
        try:
            self._file.close()
            with open(self._tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            if self.overwrite:
                os.replace(self._tmp, self.path)
            else:
                # link() fails if the name appeared meanwhile: never clobber a user's file.
                os.link(self._tmp, self.path)
                self._tmp.unlink()
        except FileExistsError as exc:
            self.abort()
            raise AudioWriteError(f"{self.path} already exists (not overwritten)") from exc
        except (OSError, RuntimeError, sf.LibsndfileError) as exc:
            self.abort()
            raise AudioWriteError(_disk_message(self.path, exc)) from exc
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; the real path is untouched."""
        with contextlib.suppress(Exception):
            self._file.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._tmp.exists():
            self.abort()


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int,
                fmt: OutputFormat = OutputFormat(), overwrite: bool = False) -> Path:
    """Write a whole ``(channels, n)`` array atomically."""
    audio = np.atleast_2d(audio)
    with AudioWriter(path, sample_rate, audio.shape[0], fmt, overwrite) as writer:
        writer.write(audio)
        return writer.commit()


def tpdf_dither(shape: tuple[int, ...], bits: int, rng: np.random.Generator) -> np.ndarray:
    """Triangular dither of +-1 LSB peak, which decorrelates quantisation error from the music."""
    lsb = 2.0 ** -(bits - 1)
    return ((rng.random(shape, dtype=np.float32) - rng.random(shape, dtype=np.float32))
            * np.float32(lsb))


def _disk_message(path: Path, exc: BaseException) -> str:
    text = str(exc)
    if "No space" in text or getattr(exc, "errno", None) == 28:
        return f"cannot write {path.name}: the disk is full"
    if "ermission" in text or "Read-only" in text:
        return f"cannot write {path.name}: the folder is read-only"
    return f"cannot write {path.name}: {text}"
