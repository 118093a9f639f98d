"""Why a write failed, in words a user understands: full disks, read-only folders, lost folders.

libsndfile reports a full disk only as "System error." or "N requested and M
written"; these helpers turn that (and OSError codes) into one sentence with
the space needed and free.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import soundfile as sf

from stemsplit.core.errors import shown

# What soundfile and the OS raise when a write fails.
SF_ERRORS = (sf.LibsndfileError, RuntimeError, OSError, AssertionError)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def free_space_message(folder: Path, needed: int | None = None) -> str:
    """``the disk is full (... needed, ... free in FOLDER)``: the words for ENOSPC."""
    try:
        free = _mb(shutil.disk_usage(_existing_ancestor(folder)).free)
    except OSError:
        free = "unknown"
    need = f"about {_mb(needed)} needed, " if needed else ""
    return f"the disk is full ({need}{free} free in {shown(folder)})"


def _existing_ancestor(folder: Path) -> Path:
    """``folder`` or the nearest folder above it that exists."""
    folder = Path(os.path.abspath(folder))
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def file_in_the_way(folder: Path) -> Path | None:
    """The file (not a folder) standing where ``folder`` or a folder above it should be."""
    where = Path(os.path.abspath(folder))
    for path in (where, *where.parents):
        if os.path.lexists(path):
            return None if path.is_dir() else path
    return None


def save_failure(path: Path, exc: OSError, needed: int | None = None) -> str:
    """Why ``path`` could not be written, naming its folder: a full disk with the space
    ``needed`` and free, a read-only folder, a file where a folder should be, or the
    system's words."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return free_space_message(path.parent, needed)
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"the folder {shown(path.parent)} is read-only (or not yours)"
    if exc.errno in (errno.EEXIST, errno.ENOTDIR) and (
            blocker := file_in_the_way(path.parent)) is not None:
        return f"{shown(blocker)} is a file, not a folder"
    return f"{exc.strerror or exc} (in {shown(path.parent)})"


def _folder_message(folder: Path, exc: OSError) -> str:
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        where = _existing_ancestor(folder)
        if where != Path(os.path.abspath(folder)):  # a parent is what refuses
            return (f"cannot create {shown(folder)}: the folder {shown(where)} is read-only "
                    "(or not yours)")
        return f"cannot write to {shown(folder)}: the folder is read-only"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"cannot write to {shown(folder)}: {free_space_message(folder)}"
    if exc.errno == errno.ENAMETOOLONG:
        return f"cannot write to {shown(folder)}: a name in it is too long for the file system"
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        blocker = file_in_the_way(folder)
        if blocker is not None:
            return (f"cannot write to {shown(folder)}: {shown(blocker)} is a file, not a "
                    "folder; choose another folder (or move that file away)")
        return f"cannot write to {shown(folder)}: it (or a folder above it) is a file"
    return f"cannot write to {shown(folder)}: {exc.strerror or exc}"


def _disk_message(path: Path, exc: BaseException, needed: int | None = None) -> str:
    text = str(exc)
    code = getattr(exc, "errno", None)
    if not path.parent.is_dir():
        return (f"cannot write {shown(path.name)}: its folder {shown(path.parent)} was "
                "removed while the file was being written")
    short_write = "requested and" in text and "written" in text  # libsndfile's words for it
    if ("No space" in text or code in (errno.ENOSPC, errno.EDQUOT) or short_write
            or _nearly_full(path.parent)):
        # libsndfile reports a full disk only as "System error." or "N requested and M written"
        return f"cannot write {shown(path.name)}: {free_space_message(path.parent, needed)}"
    if ("ermission" in text or "Read-only" in text or code in (errno.EROFS, errno.EACCES)
            or not os.access(path.parent, os.W_OK)):
        return f"cannot write {shown(path.name)}: the folder is read-only"
    return f"cannot write {shown(path.name)}: {shown(text)}"


def _nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < 1 << 20
    except OSError:
        return False
