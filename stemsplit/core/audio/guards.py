"""What a file must be before it is decoded, and what decoding it may cost.

A regular file (a FIFO would block the reader forever, a device such as
``/dev/zero`` never ends), a decoded size that fits in the memory there is,
and a header whose promises can be compared with what the file holds. Also
keeps libmpg123's own complaints off the terminal.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import struct
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from stemsplit.core.errors import AudioLoadError, shown


def check_regular_file(path: Path) -> os.stat_result:
    """The file's status if it is a regular, non-empty file that can be looked at.

    Raises:
        AudioLoadError: missing, a folder, a FIFO, a device, a socket, empty, a link
            loop, a name too long, no permission.
    """
    name = shown(path)
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise AudioLoadError(f"{name}: file not found") from None
    except PermissionError:
        raise AudioLoadError(f"{name}: cannot read the file (permission denied)") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise AudioLoadError(f"{name}: is a loop of symbolic links, not a file") from None
        if exc.errno == errno.ENAMETOOLONG:
            raise AudioLoadError(f"{name}: the name is longer than the file system allows "
                                 "(at most 255 bytes per name)") from None
        raise AudioLoadError(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    except ValueError:  # a NUL in the name
        raise AudioLoadError(f"{name}: not a valid file name") from None
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise AudioLoadError(f"{name}: is a folder, not an audio file")
    if stat.S_ISFIFO(mode):
        raise AudioLoadError(f"{name}: is a named pipe (FIFO), not an audio file; "
                             "stemsplit reads regular files only")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise AudioLoadError(f"{name}: is a device, not an audio file; "
                             "stemsplit reads regular files only")
    if stat.S_ISSOCK(mode):
        raise AudioLoadError(f"{name}: is a socket, not an audio file")
    if not stat.S_ISREG(mode):
        raise AudioLoadError(f"{name}: is not a regular file")
    if st.st_size == 0:
        raise AudioLoadError(f"{name}: the file is empty")
    return st


def wav_promised_frames(path: Path, channels: int, subtype: str) -> int | None:
    """Frames a RIFF WAVE file's ``data`` chunk claims (libsndfile quietly clamps it to
    what the file holds); None for other files or a header it cannot tell."""
    width = {"PCM_U8": 1, "PCM_S8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4,
             "DOUBLE": 8}.get(subtype)
    if width is None:
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            for _ in range(64):  # a handful of chunks precede the data; never loop forever
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return None
                kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if kind == b"data":
                    return size // (width * channels)
                fh.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
        return None
    return None


def available_memory() -> int | None:
    """Bytes this process can still allocate: free RAM, and the address-space limit when one
    is set (``ulimit -v``); None when it cannot be told."""
    limits = []
    try:
        import psutil

        limits.append(int(psutil.virtual_memory().available))
    except Exception:  # noqa: BLE001 - no figure is better than a wrong refusal
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm") as fh:
                used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            limits.append(max(soft - used, 0))
    except (ImportError, OSError, ValueError):
        pass
    return min(limits) if limits else None


def check_memory(path: Path, needed: int) -> None:
    """Refuse before allocating when the decoded song would not fit in memory.

    Raises:
        AudioLoadError: ``needed`` bytes are more than the process can allocate.
    """
    free = available_memory()
    if free is not None and needed > free:
        raise AudioLoadError(f"{shown(path)}: decoding it needs {needed / 1e9:.1f} GB of "
                             f"memory and {free / 1e9:.1f} GB is free; split a shorter "
                             "file or close other programs")


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def libsndfile_quiet() -> Iterator[None]:
    """Keep libmpg123's own lines (``[src/libmpg123/parse.c:skip_junk()...]``) off the
    terminal: libsndfile hands MPEG data to it, and it writes to file descriptor 2
    directly (also for a WAV that holds MPEG audio, so every file gets it)."""
    with _STDERR_LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no fd 2 (closed, or a GUI build)
            yield
            return
        try:
            with tempfile.TemporaryFile() as sink:
                os.dup2(sink.fileno(), 2)
                try:
                    yield
                finally:
                    os.dup2(saved, 2)
        finally:
            os.close(saved)
