"""All audio writing: formats, bit depths, dither, clipping, atomic files.

Files are written to a hidden temporary name in the target folder and renamed
into place only when complete, so a full disk, a cancel or a crash never leaves
a half-written file under the real name, and an existing file is replaced only
when the caller says so. The stems of one song are moved into place together
by :func:`stemsplit.core.audio.commit.commit_all`, all or none, also when they
replace older files and also when the process is killed on the way.
Temporary names carry the writer's process id, so the next writer into a folder
can remove what a killed one left there (:mod:`stemsplit.core.audio.partials`).

Policy, in one place:
    - 16-bit output gets TPDF dither of +-1 LSB before quantisation; 24-bit
      does not need it (its noise floor is far below any playback chain).
    - Integer output clips peaks above full scale (counted in
      ``AudioWriter.clipped``); 32-bit float keeps them as they are. Callers
      that want no clipping normalise beforehand (``stemsplit.core.audio.export``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from stemsplit.core.audio.disk import SF_ERRORS as _SF_ERRORS
from stemsplit.core.audio.disk import _disk_message, _folder_message, _mb
from stemsplit.core.audio.partials import temp_file
from stemsplit.core.errors import AudioWriteError, shown

FORMATS = {"wav": "WAV", "flac": "FLAC", "aiff": "AIFF"}
BIT_DEPTHS = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}
BYTES_PER_SAMPLE = {"16": 2, "24": 3, "32f": 4}
# FLAC stores integers only.
ALLOWED = {("flac", "32f"): False}
# Hard links are how we refuse to clobber atomically; some filesystems
# (FAT, exFAT, some network shares) have none, so we fall back to a rename.
_NO_LINK = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


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

    @property
    def compressed(self) -> bool:
        return self.format == "flac"

    def describe(self) -> str:
        """Words for a user, e.g. ``WAV 24-bit``."""
        depth = "32-bit float" if self.bit_depth == "32f" else f"{self.bit_depth}-bit"
        return f"{self.format.upper()} {depth}"


def sf_path(path: Path) -> str | bytes:
    """``path`` as soundfile should get it: bytes on POSIX, where a name need not be UTF-8
    (and soundfile encodes a str strictly, failing on such a name or under a C locale);
    the str on Windows, where soundfile opens names through the wide-character API."""
    return str(path) if os.name == "nt" else os.fsencode(path)


def estimate_bytes(frames: int, channels: int, fmt: OutputFormat) -> int:
    """Upper bound of the file size (FLAC is usually about half of this)."""
    return frames * channels * BYTES_PER_SAMPLE[fmt.bit_depth] + 4096


def check_writable(folder: str | Path, needed_bytes: int = 0) -> None:
    """Fail early, with words a user understands, when ``folder`` cannot take the files.

    Creates the folder if needed. ``needed_bytes`` of 0 skips the space check.

    Raises:
        AudioWriteError: not creatable, read-only, or not enough free space.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AudioWriteError(_folder_message(folder, exc)) from exc
    if not folder.is_dir():
        raise AudioWriteError(f"{shown(folder)} is not a folder")
    # os.access honours read-only mounts even for root, which ignores mode bits.
    if not os.access(folder, os.W_OK | os.X_OK):
        raise AudioWriteError(f"cannot write to {shown(folder)}: the folder is read-only")
    if needed_bytes:
        free = shutil.disk_usage(folder).free
        if free < needed_bytes:
            raise AudioWriteError(
                f"not enough free space in {shown(folder)}: the files need about "
                f"{_mb(needed_bytes)}, {_mb(free)} is free")


class AudioWriter:
    """Streams blocks into ``path`` through a temporary file; ``commit`` renames it in place.

    Use as a context manager: leaving the block without ``commit`` (an exception,
    a cancel) deletes the temporary file and leaves ``path`` untouched.

    Clipping policy: float output keeps peaks above full scale as they are;
    integer output clips them (counted in ``clipped``) after TPDF dither at
    16 bit, so callers can warn or normalise beforehand. ``peak`` is the
    largest absolute input sample seen.
    """

    def __init__(self, path: str | Path, sample_rate: int, channels: int,
                 fmt: OutputFormat = OutputFormat(), overwrite: bool = False,
                 seed: int | None = 0) -> None:
        self.path = Path(path)
        self.fmt = fmt
        self.overwrite = overwrite
        self.channels = channels
        self.clipped = 0
        self.frames = 0
        self.needed_bytes: int | None = None  # what the caller expects to write, for messages
        self.peak = 0.0
        self._rng = np.random.default_rng(seed)
        self._file: sf.SoundFile | None = None
        # First what a killed run left here: a file it had moved aside comes back.
        from stemsplit.core.audio.commit import sweep_folder

        sweep_folder(self.path.parent)
        if self.path.exists() and not overwrite:
            raise AudioWriteError(f"{self.path} already exists (not overwritten)")
        if self.path.is_dir():
            raise AudioWriteError(f"{self.path} is a folder")
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._tmp = temp_file(folder, self.path.name)
        except OSError as exc:
            raise AudioWriteError(_folder_message(folder, exc)) from exc
        try:
            self._file = sf.SoundFile(sf_path(self._tmp), "w", sample_rate, channels,
                                      subtype=BIT_DEPTHS[fmt.bit_depth],
                                      format=FORMATS[fmt.format])
        except _SF_ERRORS as exc:
            self._tmp.unlink(missing_ok=True)
            raise AudioWriteError(_disk_message(self.path, exc, self.needed_bytes)) from exc
        except BaseException:  # Ctrl+C, SIGTERM: no caller holds this writer yet to abort it
            self._tmp.unlink(missing_ok=True)
            raise

    def write(self, block: np.ndarray) -> None:
        """Append ``(channels, n)`` float samples."""
        if self._file is None or self._file.closed:
            raise AudioWriteError(f"{self.path.name}: the file is already finished")
        block = np.atleast_2d(np.asarray(block, dtype=np.float32))
        if block.shape[0] != self.channels:
            self.abort()
            raise AudioWriteError(f"{self.path.name}: got {block.shape[0]} channels, "
                                  f"expected {self.channels}")
        if block.shape[1] == 0:
            return
        if not np.isfinite(block).all():
            self.abort()
            raise AudioWriteError(f"{self.path.name}: the audio contains NaN or infinite samples")
        data = block.T
        self.peak = max(self.peak, float(np.abs(data).max()))
        if self.fmt.is_integer:
            data = self._quantise(data)
        try:
            self._file.write(np.ascontiguousarray(data))
        except _SF_ERRORS as exc:
            self.abort()
            raise AudioWriteError(_disk_message(self.path, exc, self.needed_bytes)) from exc
        self.frames += data.shape[0]

    def _quantise(self, data: np.ndarray) -> np.ndarray:
        """Float -> integers with our own rounding, dither and clipping.

        libsndfile floors (not rounds) float input for WAV and AIFF but rounds
        for FLAC; quantising here makes every container identical and unbiased.
        """
        bits = int(self.fmt.bit_depth)
        if bits == 16:
            data = data + tpdf_dither(data.shape, 16, self._rng)
        full = 2.0 ** (bits - 1)
        # float32 in, float32 maths: scaling by a power of two and rounding are exact
        # there (|q| <= 2^23 < 2^24), so this equals the float64 route bit for bit at
        # half its memory traffic; a float64 block keeps float64
        q = np.multiply(data, data.dtype.type(full)) if data.dtype == np.float32 else \
            data.astype(np.float64) * full
        np.rint(q, out=q)
        if q.size and (q.max() > full - 1 or q.min() < -full):  # two fast reductions
            self.clipped += int(np.count_nonzero((q > full - 1) | (q < -full)))
            np.clip(q, -full, full - 1, out=q)
        if bits == 16:
            return q.astype(np.int16)
        # 24-bit samples travel in the top bits of int32, as libsndfile expects.
        return q.astype(np.int32) << 8

    def close(self) -> None:
        """Finish encoding into the temporary file without moving it yet.

        Lets a caller finish several files and then ``commit`` them together,
        so a failure in one leaves none of them under its real name.
        """
        if self._file is None or self._file.closed:
            return
        try:
            self._file.close()
            with open(self._tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        except _SF_ERRORS as exc:
            self.abort()
            raise AudioWriteError(_disk_message(self.path, exc, self.needed_bytes)) from exc

    def commit(self) -> Path:
        """Finish the file and move it to its real name."""
        from stemsplit.core.audio.commit import commit_all

        return commit_all([self])[0]

    def _prepare(self) -> None:
        # mkstemp makes the file private (0600); an export is an ordinary file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self._tmp, 0o666 & ~umask)

    def _place(self) -> None:
        if self.overwrite:
            os.replace(self._tmp, self.path)
        else:
            self._move_without_clobbering()

    def _move_without_clobbering(self) -> None:
        try:
            # link() fails if the name appeared meanwhile: never clobber a user's file.
            os.link(self._tmp, self.path)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
            if self.path.exists():
                raise FileExistsError(str(self.path)) from exc
            os.rename(self._tmp, self.path)
            return
        self._tmp.unlink()

    def abort(self) -> None:
        """Drop the temporary file; the real path is untouched."""
        with contextlib.suppress(Exception):
            if self._file is not None:
                self._file.close()
        self._tmp.unlink(missing_ok=True)

    @property
    def temp_path(self) -> Path:
        return self._tmp

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._tmp.exists():
            self.abort()


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int,
                fmt: OutputFormat = OutputFormat(), overwrite: bool = False,
                seed: int | None = 0) -> Path:
    """Write a whole ``(channels, n)`` array atomically."""
    audio = np.atleast_2d(audio)
    with AudioWriter(path, sample_rate, audio.shape[0], fmt, overwrite, seed) as writer:
        writer.write(audio)
        return writer.commit()


def tpdf_dither(shape: tuple[int, ...], bits: int, rng: np.random.Generator) -> np.ndarray:
    """Triangular dither of +-1 LSB peak, which decorrelates quantisation error from the music."""
    lsb = 2.0 ** -(bits - 1)
    return ((rng.random(shape, dtype=np.float32) - rng.random(shape, dtype=np.float32))
            * np.float32(lsb))


