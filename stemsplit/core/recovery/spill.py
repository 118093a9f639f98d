"""Stems moved out of RAM into a scratch file, memory-mapped read-only.

The mask editor keeps the model's stems untouched (the *base*) beside the
edited ones, and reads the base only to clear edits, to rebuild once undo
steps lost their audio, and when a project is saved. In RAM that is two more
stereo stems: 1.3 GB for a 30-minute song. Mapped from a file, only the pages
being read are resident, and :meth:`Spilled.drop_pages` gives those back once
read (they stay in the OS's file cache, which is not the process's memory).

The file is unlinked as soon as it is mapped (POSIX): nothing is left behind,
not even after SIGKILL. Where that is refused (Windows) it is removed when the
arrays are garbage-collected, or swept by the next start.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

import numpy as np

PREFIX = "stemsplit-base-"
WRITE_BLOCK = 16 << 20  # bytes per write: no second copy of a stem in RAM


class Spilled:
    """Read-only ``(channels, samples)`` float32 arrays backed by one scratch file.

    Args:
        arrays: name -> array; written in order, then mapped.
        folder: where the scratch file goes (a real disk, not a RAM-backed /tmp);
            created if needed.

    Raises:
        OSError: the folder cannot be written or the disk is full (nothing is left).
    """

    def __init__(self, arrays: dict[str, np.ndarray], folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        sweep(folder)
        fd, name = tempfile.mkstemp(prefix=f"{PREFIX}{os.getpid()}-", suffix=".f32",
                                    dir=folder)
        path = Path(name)
        layout: list[tuple[str, tuple[int, ...], int]] = []
        try:
            with os.fdopen(fd, "r+b") as f:
                offset = 0
                for key, a in arrays.items():
                    a = np.ascontiguousarray(a, dtype=np.float32)
                    raw = memoryview(a).cast("B")
                    for i in range(0, len(raw), WRITE_BLOCK):
                        f.write(raw[i:i + WRITE_BLOCK])
                    layout.append((key, a.shape, offset))
                    offset += a.nbytes
                f.flush()
                self._map = mmap.mmap(f.fileno(), max(offset, 1), access=mmap.ACCESS_READ)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self.nbytes = offset
        self.arrays = {
            key: np.frombuffer(self._map, np.float32, int(np.prod(shape)), off).reshape(shape)
            for key, shape, off in layout}
        try:
            path.unlink()
        except OSError:  # mapped files cannot be removed on Windows: when no longer used
            weakref.finalize(self, _unlink_later, path)

    def keep_out_of_ram(self, every_s: float = 0.02) -> None:
        """Drop the pages read every ``every_s`` while these arrays live: a project save
        reads the whole base, which would otherwise stay resident until it ends."""
        ref = weakref.ref(self)

        def run() -> None:
            while True:
                time.sleep(every_s)
                spilled = ref()
                if spilled is None:
                    return
                spilled.drop_pages()
                del spilled
        threading.Thread(target=run, name="stemsplit-spill-pages", daemon=True).start()

    def drop_pages(self) -> None:
        """Give back the resident pages read so far (the data stays in the file)."""
        advise = getattr(self._map, "madvise", None)
        if advise is not None and hasattr(mmap, "MADV_DONTNEED"):
            with contextlib.suppress(OSError, ValueError):
                advise(mmap.MADV_DONTNEED)


def _unlink_later(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def sweep(folder: Path) -> None:
    """Remove scratch files other processes left (a file still mapped by a live window
    cannot be removed where unlinking a mapped file is refused, and on POSIX a live
    window's file has no name any more)."""
    mine = f"{PREFIX}{os.getpid()}-"
    for p in folder.glob(f"{PREFIX}*.f32"):
        if not p.name.startswith(mine):
            with contextlib.suppress(OSError):
                p.unlink()


# -- an open song's arrays moved to disk in place (while a project opens over it) ---------

MIN_PAGE_OUT = 64 << 20  # smaller arrays may share pages with the allocator's own data


def page_out(arrays, folder: Path) -> int:
    """Back these arrays' memory by a scratch file instead of RAM, in place (Linux).

    The same array objects keep the same addresses and the same bits: each whole page
    inside an array is written to the file, then the file is mapped over it privately
    (copy-on-write: a later write goes to RAM, never to the file). The RAM they held
    goes back at once; pages read later come from the OS's file cache. Used while a
    project opens over the song: if the open fails, the song is still all there.

    Nothing may write to the arrays meanwhile (run it where edits run). Arrays already
    backed by a file, not contiguous or under ``MIN_PAGE_OUT`` bytes are left as they are.

    Returns:
        The bytes moved out of RAM (0 where this is not Linux).

    Raises:
        OSError: the disk refused; nothing was changed then.
    """
    spans = _page_spans(arrays)
    if not spans or not sys.platform.startswith("linux"):
        return 0
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{PREFIX}{os.getpid()}-", suffix=".f32", dir=folder)
    try:
        offsets, offset = [], 0
        with open(fd, "wb", buffering=0, closefd=False) as f:
            for lo, hi in spans:
                for a in range(lo, hi, WRITE_BLOCK):
                    block = memoryview((ctypes.c_char * min(WRITE_BLOCK, hi - a)).from_address(a))
                    while block:
                        block = block[f.write(block):]
                offsets.append(offset)
                offset += hi - lo
        moved = 0
        for (lo, hi), off in zip(spans, offsets, strict=True):
            got = libc.mmap(lo, hi - lo, mmap.PROT_READ | mmap.PROT_WRITE,
                            mmap.MAP_PRIVATE | _MAP_FIXED, fd, off)
            if got != lo:  # only the vma limit makes this fail; the span keeps its RAM
                err = ctypes.get_errno()
                raise OSError(err, f"cannot map the scratch file: {os.strerror(err)}")
            moved += hi - lo
        return moved
    finally:
        os.close(fd)  # the mappings keep the file's pages; its name goes at once
        Path(name).unlink(missing_ok=True)


_MAP_FIXED = 0x10


def _page_spans(arrays) -> list[tuple[int, int]]:
    """The whole pages inside the arrays' memory, overlaps merged, in address order."""
    page = mmap.PAGESIZE
    spans = []
    for a in arrays:
        if (not isinstance(a, np.ndarray) or a.nbytes < MIN_PAGE_OUT
                or not a.flags.c_contiguous or _file_backed(a)):
            continue
        start = a.__array_interface__["data"][0]
        lo, hi = -(-start // page) * page, (start + a.nbytes) // page * page
        if hi > lo:
            spans.append((lo, hi))
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _file_backed(a: np.ndarray) -> bool:
    while a is not None:
        if isinstance(a, (mmap.mmap, np.memmap)):
            return True
        a = getattr(a, "base", None)
    return False
