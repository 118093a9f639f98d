"""Moving a song's finished stems into place as one set, even across a SIGKILL.

Every stem is first encoded and synced under a hidden ``.partial`` name. Then a
journal, ``.stemsplit-commit.{pid}.{random}.json``, is written (atomically,
synced) listing each temporary file, its real name and, when an older file is
replaced, the hidden ``.backup`` name that file is moved to. Only then are the
old files moved aside and the new ones moved in; the backups and the journal
go last. From the journal's appearance on, the new set is complete on disk, so
whoever finds a journal whose writer is gone (:func:`recover`, run by the next
writer into the folder) finishes the move: the folder then holds the whole new
set, never a mix of two runs and never a missing stem. An error or an
interrupt that Python sees (a full disk, Ctrl+C, SIGTERM) rolls back instead:
the old files return and the new ones go.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

from stemsplit.core.audio.disk import SF_ERRORS, _disk_message
from stemsplit.core.audio.partials import BACKUP, pid_alive, sweep_files, temp_file
from stemsplit.core.errors import AudioWriteError

JOURNAL_PREFIX = ".stemsplit-commit."
# A ``write.AudioWriter`` (not imported: the writer uses this module to commit).
Writer = object

_JOURNAL = re.compile(r"^\.stemsplit-commit\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.json$")
# Seconds to sleep after each file is moved in: lets a test kill a run mid-commit.
PAUSE_ENV = "STEMSPLIT_TEST_COMMIT_PAUSE_S"


def commit_all(writers: Sequence[Writer]) -> list[Path]:
    """Finish every writer and move all the files to their real names as one unit.

    All or none (see the module docstring). The last file of a set without a
    journal (writers in different folders) needs no backup: a failed rename
    leaves its target as it was.

    Returns:
        The real paths, in the writers' order.

    Raises:
        AudioWriteError: a file exists (for a writer without ``overwrite``), a
            target is a folder, the disk is full or read-only.
    """
    writers = list(writers)
    backups: dict[int, Path] = {}
    placed: list[int] = []
    journal: Path | None = None
    current: Writer | None = None
    pause = float(os.environ.get(PAUSE_ENV) or 0)
    try:
        for current in writers:
            current.close()
        for current in writers:
            current._prepare()
            if current.path.is_dir():
                raise IsADirectoryError(errno.EISDIR, "is a folder", str(current.path))
        folders = {w.path.parent for w in writers}
        one_folder = len(folders) == 1
        for i, current in enumerate(writers):
            if current.overwrite and os.path.lexists(current.path) and (
                    one_folder or i < len(writers) - 1):
                backups[i] = _backup_name(current)
        if one_folder and len(writers) > 1:
            journal = _write_journal(folders.pop(), writers, backups)
        for i, current in enumerate(writers):
            if i in backups:
                os.replace(current.path, backups[i])
            current._place()
            placed.append(i)
            if pause:
                time.sleep(pause)
    except BaseException as exc:
        _roll_back(writers, placed, backups)
        if journal is not None:
            with contextlib.suppress(OSError):
                journal.unlink()
        if isinstance(exc, IsADirectoryError) and current is not None:
            raise AudioWriteError(f"{current.path} is a folder") from exc
        if isinstance(exc, FileExistsError) and current is not None:
            raise AudioWriteError(f"{current.path} already exists (not overwritten)") from exc
        if isinstance(exc, SF_ERRORS) and current is not None:
            raise AudioWriteError(_disk_message(current.path, exc)) from exc
        raise
    for backup in backups.values():
        with contextlib.suppress(OSError):  # a leftover backup is swept by a later run
            backup.unlink()
    if journal is not None:
        with contextlib.suppress(OSError):
            journal.unlink()
    return [w.path for w in writers]


def _backup_name(writer: Writer) -> Path:
    # Named now (and listed in the journal) but created only by the rename.
    stem = writer.temp_path.name.removesuffix(".partial")
    return writer.path.parent / f"{stem}{BACKUP}"


def _write_journal(folder: Path, writers: list[Writer], backups: dict[int, Path]) -> Path:
    entries = [{"tmp": w.temp_path.name, "target": w.path.name, "overwrite": w.overwrite,
                "backup": backups[i].name if i in backups else None}
               for i, w in enumerate(writers)]
    tmp = temp_file(folder, "stemsplit-commit")  # .stemsplit-commit.{pid}.{random}.partial
    journal = tmp.with_name(tmp.name.removesuffix(".partial") + ".json")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"files": entries}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, journal)  # it appears complete or not at all
    finally:
        tmp.unlink(missing_ok=True)
    _sync_folder(folder)
    return journal


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _roll_back(writers: list[Writer], placed: list[int], backups: dict[int, Path]) -> None:
    """Undo a partly done :func:`commit_all`: old files back, new and temporary files gone."""
    for i in reversed(placed):
        path = writers[i].path
        backup = backups.pop(i, None)
        try:
            if backup is not None and backup.exists():
                os.replace(backup, path)  # the old file back over the new one, atomically
            else:
                path.unlink(missing_ok=True)
        except OSError:
            with contextlib.suppress(OSError):  # then the backup's sweep restores it later
                path.unlink(missing_ok=True)
    for i, backup in backups.items():  # moved aside (perhaps), nothing moved in yet
        with contextlib.suppress(OSError):
            if backup.exists():
                os.replace(backup, writers[i].path)
    for writer in writers:
        writer.abort()


def recover(folder: Path, held: bool = False) -> list[Path]:
    """Finish every commit in ``folder`` whose writer is gone; never raises.

    Args:
        held: the caller holds the folder's lock, so no journal can be live
            (process ids are reused: a live id proves nothing); else only
            journals of processes that no longer exist are finished.

    Returns:
        The journals finished.
    """
    done = []
    try:
        names = [e.name for e in os.scandir(folder) if _JOURNAL.match(e.name)]
    except OSError:
        return done
    for name in names:
        pid = int(_JOURNAL.match(name)["pid"])
        if pid == os.getpid() or (not held and pid_alive(pid)):
            continue
        journal = Path(folder) / name
        try:
            entries = json.loads(journal.read_text(encoding="utf-8"))["files"]
        except (OSError, ValueError, TypeError, KeyError, RecursionError):
            if held:  # not one of ours after all (journals appear complete)
                journal.unlink(missing_ok=True)
            continue
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError, AttributeError):
            for entry in entries:
                _roll_forward(Path(folder), entry)
            for entry in entries:
                if entry.get("backup"):
                    (Path(folder) / str(entry["backup"])).unlink(missing_ok=True)
            journal.unlink()
            done.append(journal)
    return done


def _roll_forward(folder: Path, entry: dict) -> None:
    tmp, target = folder / str(entry["tmp"]), folder / str(entry["target"])
    if "/" in str(entry["tmp"]) + str(entry["target"]) or not tmp.is_file():
        return  # moved in already (or not ours to touch)
    if entry.get("overwrite"):
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # never over a file that appeared since
    except FileExistsError:
        pass
    except OSError:
        if not os.path.lexists(target):
            os.rename(tmp, target)
            return
    tmp.unlink(missing_ok=True)


def sweep_folder(folder: Path, held: bool = False) -> list[Path]:
    """What killed writers left in ``folder``: finish their commits, then remove their
    temporary files (``partials.sweep_files``). Never raises."""
    recover(Path(folder), held=held)
    return sweep_files(folder, held=held)
