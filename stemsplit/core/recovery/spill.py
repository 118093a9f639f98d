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
