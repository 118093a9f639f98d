"""One writer per song folder, and a record of what the folder's stems were made from.

``stemsplit separate`` gives every song its own folder. Two runs writing into
the same folder at once would interleave their stems, so a writer holds the
folder's lock (``filelock``, an OS-level lock the kernel drops when the process
dies, even by SIGKILL) from the first look at the folder to the last file. The
lock file holds the owner's process id, so a second run can say whom it waits
for; it is removed on release (filelock re-checks an unlinked lock file).

Holding the lock also settles what is stale: no live process can be writing
there, so every temporary file a writer left is a leftover (see
:func:`stemsplit.core.audio.partials.sweep_files`), whatever its age.

The record (``.stemsplit.json``) names the source (size, modification time,
SHA-256 of its first MiB) and the model, so a later run can tell "these are
this song's stems" from "a different song with the same name".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from stemsplit.core.errors import AudioWriteError, shown

LOCK_NAME = ".stemsplit.lock"
RECORD_NAME = ".stemsplit.json"
HEAD_BYTES = 1 << 20


class FolderLock:
    """Exclusive use of ``folder`` (created if needed) by this process.

    Args:
        folder: the song folder.
        on_wait: called once with the holder's process id (None if unknown)
            when another process holds the lock; the lock is then waited for.
    """

    def __init__(self, folder: Path, on_wait: Callable[[int | None], None] | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._on_wait = on_wait
        self._lock = None

    def __enter__(self) -> FolderLock:
        import filelock

        for _attempt in range(20):  # the folder may be removed (emptied) by another run
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = filelock.FileLock(self.path, on_acquired=_write_pid)
            try:
                try:
                    lock.acquire(timeout=0)
                except filelock.Timeout:
                    if self._on_wait is not None:
                        self._on_wait(holder(self.folder))
                    lock.acquire()
            except FileNotFoundError:
                continue
            self._lock = lock
            return self
        raise AudioWriteError(f"cannot lock {shown(self.folder)}: it keeps disappearing")

    def __exit__(self, *exc) -> None:
        if self._lock is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()  # while still held: a waiter then re-opens a fresh file
        self._lock.release()
        self._lock = None


def _write_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())


def holder(folder: Path) -> int | None:
    """The process id written in ``folder``'s lock file, if any."""
    try:
        return int((Path(folder) / LOCK_NAME).read_text()[:20].strip())
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class SourceRecord:
    """What a song folder's stems were made from."""

    path: str
    size: int
    mtime_ns: int
    head_sha256: str
    model: str

    def same_song(self, other: SourceRecord) -> bool:
        """The same audio (size and first MiB; a copy may have a new mtime) and model."""
        return (self.size, self.head_sha256, self.model) == (other.size, other.head_sha256,
                                                             other.model)


def describe_source(source: Path, model: str) -> SourceRecord:
    """The record of ``source`` as it is now. Raises OSError when it cannot be read."""
    st = os.stat(source)
    with open(source, "rb") as fh:
        head = hashlib.sha256(fh.read(HEAD_BYTES)).hexdigest()
    return SourceRecord(os.fsdecode(os.path.abspath(source)), st.st_size, st.st_mtime_ns,
                        head, model)


def read_record(folder: Path) -> SourceRecord | None:
    """The folder's record; None when there is none or it cannot be read."""
    path = Path(folder) / RECORD_NAME
    try:
        if not path.is_file() or path.stat().st_size > 1 << 16:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return SourceRecord(str(data["path"]), int(data["size"]), int(data["mtime_ns"]),
                            str(data["head_sha256"]), str(data["model"]))
    except (OSError, ValueError, TypeError, KeyError, RecursionError):
        return None


def write_record(folder: Path, record: SourceRecord) -> None:
    """Write the record atomically; a failure only loses the record (never raises)."""
    from stemsplit.core.audio.partials import temp_file

    try:
        tmp = temp_file(Path(folder), RECORD_NAME)
        try:
            tmp.write_text(json.dumps(asdict(record), indent=1), encoding="utf-8")
            os.replace(tmp, Path(folder) / RECORD_NAME)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError:
        pass
