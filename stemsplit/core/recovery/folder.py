"""One live window's recovery folder: lock, state, base stems, journal (see the package)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stemsplit.core.editing.edits import Edit
from stemsplit.core.recovery import journal
from stemsplit.core.stems import StemSet

FORMAT = "stemsplit-recovery"
VERSION = 1
STATE = "state.json"
BASE = "base.stemsplit"
JOURNAL = "journal.jsonl"
LOCK = "lock"


def lock(path: Path):
    """An open file holding an exclusive lock on ``path``; None when another process holds it.

    The lock dies with its process (SIGKILL and power cuts included), which is what
    tells a live window's folder from an orphan: no age guess, no process ids.
    """
    f = open(path, "a+b")  # noqa: SIM115 - kept open: the lock lives as long as the file
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return None
    return f


def write_json(path: Path, data: dict) -> None:
    """Replace ``path`` with ``data`` atomically and durably."""
    text = json.dumps(data, indent=1, allow_nan=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """A rename is durable only once the folder itself is synced (POSIX)."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class RecoveryFolder:
    """Writes one window's recovery folder; every method may raise OSError (disk full...).

    Call from one thread at a time (the window's recovery writer): writes are ordered.

    Args:
        root: the folder that holds every window's recovery folder (created if needed).
        folder: an orphan's folder to continue (already locked by ``held``), else a new one.
        held: the open lock file of ``folder``.
    """

    def __init__(self, root: Path, folder: Path | None = None, held=None) -> None:
        if folder is None:
            root.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=root))
            held = lock(folder / LOCK)
            if held is None:  # a fresh folder nobody else knows: cannot happen
                raise OSError(f"cannot lock {folder}")
        self.folder = folder
        self._lock = held
        self._edits: list[Edit] = []
        self.state: dict = {"format": FORMAT, "version": VERSION, "unsaved": False}
        if (folder / STATE).is_file():
            self.state = json.loads((folder / STATE).read_text(encoding="utf-8"))

    # -- the base stems ------------------------------------------------------------------

    def write_base(self, *, song_path, model: str, stems: StemSet, mix: np.ndarray,
                   edits: Sequence[Edit] = ()) -> None:
        """A new separation: its stems are the base; the journal starts again from ``edits``."""
        from stemsplit.core.project import save_project

        self._clear_journal()
        save_project(self.folder / BASE, song_path=song_path, model=model, stems=stems,
                     edits=list(edits), mix=mix)
        self._edits = list(edits)
        self.update(song_path=str(song_path) if song_path else None, model=model,
                    base=BASE, project=None)

    def use_project(self, project: Path, edits: Sequence[Edit], *, song_path,
                    model: str) -> None:
        """The base is a saved project (just opened or saved): nothing to copy.

        Its size and time are kept: a project changed since is not replayed on.
        """
        project = Path(project).absolute()
        st = project.stat()
        self._clear_journal()
        (self.folder / BASE).unlink(missing_ok=True)
        self._edits = list(edits)
        self.update(song_path=str(song_path) if song_path else None, model=model, base=None,
                    project={"path": str(project), "size": st.st_size,
                             "mtime_ns": st.st_mtime_ns})

    def continue_from(self, edits: Sequence[Edit]) -> None:
        """An orphan restored: its journal goes on from the list it replays to."""
        self._edits = list(edits)

    # -- changes ---------------------------------------------------------------------------

    def journal(self, edits: Sequence[Edit]) -> bool:
        """Record the edit list as it is now (a no-op when unchanged); True when written."""
        line = journal.diff(self._edits, edits)
        if line is None:
            return False
        journal.append(self.folder / JOURNAL, line)
        self._edits = list(edits)
        return True

    def update(self, **values) -> None:
        """Merge ``values`` (JSON-safe: mixer, loop, view, unsaved...) into the state file."""
        self.state.update(values, format=FORMAT, version=VERSION, pid=os.getpid(),
                          written=time.time())
        write_json(self.folder / STATE, self.state)

    def _clear_journal(self) -> None:
        (self.folder / JOURNAL).unlink(missing_ok=True)
        self._edits = []

    # -- the end -----------------------------------------------------------------------------

    def remove(self) -> None:
        """Nothing left to recover (saved and quit, discarded, another song): delete it all."""
        # Deleted while still locked: no other window can take it for an orphan meanwhile.
        shutil.rmtree(self.folder, ignore_errors=True)
        self.release()

    def release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.close()
            self._lock = None
