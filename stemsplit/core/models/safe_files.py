"""Opening files a user hands us (or a stranger planted) without hanging or being misled.

A FIFO blocks ``open`` until a writer appears; ``/dev/zero`` or a link to it never
ends; a symlink planted in our own cache can make a write land elsewhere. Every
model file is therefore opened here: without blocking, then checked to be a regular
file of a bounded size before a byte of it is read.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from stemsplit.core.errors import ModelError


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_regular(path: Path, follow_links: bool = True) -> os.stat_result:
    """``stat`` of ``path``, refusing anything but a regular file with one sentence.

    Raises:
        ModelError: missing, unreadable, or a folder, FIFO, device, socket (or a
            symlink when ``follow_links`` is False).
    """
    try:
        info = os.stat(path, follow_symlinks=follow_links)
    except FileNotFoundError:
        raise ModelError(f"{path} does not exist") from None
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if stat.S_ISLNK(info.st_mode):
        raise ModelError(f"{path} is a symbolic link; model files are read from regular "
                         "files only")
    if not stat.S_ISREG(info.st_mode):
        raise ModelError(f"{path} is {_kind(info.st_mode)}, not a regular file")
    return info


def open_regular(path: Path, max_bytes: int | None = None, follow_links: bool = True,
                 what: str = "file"):
    """Open ``path`` for binary reading, only if it is a regular file of at most ``max_bytes``.

    The file is opened non-blocking (a FIFO would otherwise block ``open`` itself),
    checked with ``fstat`` on the open descriptor (so a swap after a check cannot
    slip a device in), then switched back to blocking reads.

    Args:
        follow_links: False opens with ``O_NOFOLLOW``: a symlink is refused.
        what: how the message names the file ("model archive", "checkpoint index").

    Raises:
        ModelError: missing, not a regular file, a refused link, or larger than allowed.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) \
        | getattr(os, "O_BINARY", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ModelError(f"{path} does not exist") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ModelError(f"{path} is a symbolic link; model files are read from regular "
                             "files only") from None
        if exc.errno == errno.EISDIR:
            raise ModelError(f"{path} is a folder, not a regular file") from None
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ModelError(f"{path} is {_kind(info.st_mode)}, not a regular file")
        if max_bytes is not None and info.st_size > max_bytes:
            raise ModelError(f"{path} is {_mb(info.st_size)}, more than any genuine {what} "
                             f"({_mb(max_bytes)} at most); refusing it")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, max_bytes: int, what: str = "file") -> bytes:
    """The whole content of a bounded regular file (a file growing meanwhile is cut off).

    Raises:
        ModelError: as :func:`open_regular`, or a read error.
    """
    with open_regular(path, max_bytes, what=what) as fh:
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise ModelError(f"{path} grew past {_mb(max_bytes)} while being read; refusing it")
    return data
