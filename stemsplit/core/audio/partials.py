"""Hidden temporary files that name the process writing them, and the cleanup of stale ones.

Every temporary name we create carries the writer's process id:

    ``.{name}.{pid}.{random}.partial``   a file being written (renamed to ``name`` when done)
    ``.{name}.{pid}.{random}.backup``    an existing ``name`` moved aside while a set of files
                                        replaces another (see ``commit.commit_all``)
    ``.install-{model}-{pid}-{random}``  a model being installed (``model_store``)

A normal exit, an error, Ctrl+C, SIGTERM and SIGHUP all remove them. A hard kill
(SIGKILL, a crash, a power cut) cannot, so the next writer into the same folder
calls :func:`sweep_files` / :func:`sweep_installs`. A writer that holds the
folder's lock (:class:`stemsplit.core.audio.song_folder.FolderLock`, which
every ``stemsplit separate`` run takes) knows that no live process writes
there, so every temporary file it finds is stale, whatever its age or process
id (ids are reused). Without the lock an entry is stale only when its process
is gone *and* it has not changed for :data:`STALE_AFTER_S` (the age test
protects a writer on another machine sharing the folder, whose process id means
nothing here). Names that do not follow the pattern - a user's own files - are
never touched. A commit journal a killed writer left is finished first
(:func:`stemsplit.core.audio.commit.recover`), since it needs its files.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

PARTIAL = ".partial"
BACKUP = ".backup"
INSTALL = ".install-"
STALE_AFTER_S = 300.0

_FILE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+(?P<kind>\.partial|\.backup)$")
_INSTALL = re.compile(r"^\.install-(?P<name>.+)-(?P<pid>\d+)-[A-Za-z0-9_]+$")


def temp_file(folder: Path, name: str, suffix: str = PARTIAL) -> Path:
    """Create an empty private file ``.{name}.{pid}.{random}{suffix}`` in ``folder``.

    Raises:
        OSError: the folder is not writable.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=suffix, dir=folder)
    os.close(fd)
    return Path(tmp)


def temp_install_dir(folder: Path, model: str) -> Path:
    """Create ``.install-{model}-{pid}-{random}`` in ``folder``."""
    return Path(tempfile.mkdtemp(prefix=f"{INSTALL}{model}-{os.getpid()}-", dir=folder))


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine; True when it cannot be told."""
    if pid <= 0:
        return True
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would *terminate* the process on Windows
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, it is someone else's
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:
    try:
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() != 87  # ERROR_INVALID_PARAMETER: no such process
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    except Exception:  # noqa: BLE001 - when in doubt, the file stays
        return True


def _stale(entry: os.DirEntry, pid: int, now: float, held: bool = False) -> bool:
    if held:
        return pid != os.getpid()
    if pid_alive(pid):
        return False
    try:
        st = entry.stat(follow_symlinks=False)
    except OSError:
        return False
    return now - st.st_mtime >= STALE_AFTER_S


def sweep_files(folder: Path, now: float | None = None, held: bool = False) -> list[Path]:
    """Remove stale ``.partial`` files in ``folder``; put stale ``.backup`` files back.

    ``held``: the caller holds the folder's lock (see the module docstring).

    A backup is what an interrupted overwrite moved aside: if its real name is
    free it is renamed back (the user's file returns), otherwise it is deleted
    (a complete file has taken the name). Never raises.

    Returns:
        The temporary files removed or restored.
    """
    done: list[Path] = []
    for entry, match in _stale_entries(folder, _FILE, now, folders=False, held=held):
        path = Path(entry.path)
        with contextlib.suppress(OSError):
            if match["kind"] == BACKUP:
                _restore(path, Path(folder) / match["name"])
            else:
                path.unlink()
            done.append(path)
    return done


def _restore(backup: Path, target: Path) -> None:
    try:
        os.link(backup, target)  # never clobbers: fails if the name is taken
    except FileExistsError:
        pass
    except OSError:
        if not os.path.lexists(target):
            os.rename(backup, target)
            return
    backup.unlink()


def sweep_installs(folder: Path, now: float | None = None) -> list[Path]:
    """Remove stale ``.install-*`` folders of dead processes in ``folder``. Never raises."""
    done: list[Path] = []
    for entry, _match in _stale_entries(folder, _INSTALL, now, folders=True):
        shutil.rmtree(entry.path, ignore_errors=True)
        if not os.path.lexists(entry.path):
            done.append(Path(entry.path))
    return done


def _stale_entries(folder: Path, pattern, now: float | None, folders: bool,
                   held: bool = False):
    """(entry, match) for each file (or folder) in ``folder`` whose name ``pattern``
    matches and whose writer is gone (see ``_stale``); nothing if it cannot be read."""
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None:
            continue
        kind_ok = (entry.is_dir(follow_symlinks=False) if folders
                   else entry.is_file(follow_symlinks=False))
        if kind_ok and _stale(entry, int(match["pid"]), now, held):
            yield entry, match


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one of our temporary files (any process)."""
    return _FILE.match(name) is not None

