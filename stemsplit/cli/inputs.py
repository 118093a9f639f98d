"""What a `stemsplit separate` batch reads and where each song's stems go.

Folders are searched recursively, following links to folders but never the
same folder twice (a link loop is reported and skipped, not followed
forever); unreadable folders, dangling links and link loops are named in a
warning. Only regular files are taken; the reader refuses anything else with
its own reason.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from stemsplit.core.errors import AudioWriteError, shown


def resolved(path: Path) -> Path:
    """``path`` with links resolved as far as they go; never raises (a link loop stays as
    it is, made absolute)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # RuntimeError: a symlink loop (3.11)
        return Path(os.path.abspath(path))


@dataclass(frozen=True)
class OutputGuard:
    """Where a batch may write: inside its output folder, never over one of its inputs."""

    root: Path  # the output folder, resolved
    inputs: frozenset[Path]  # every input of the batch, resolved
    inodes: frozenset[tuple[int, int]]  # and as (device, inode), so hard links count too

    def check(self, path: Path) -> None:
        """Refuse ``path`` unless it lies inside the output folder and is not an input.

        Raises:
            AudioWriteError: it must not be written.
            OSError: it cannot be looked at (a name too long, a folder without access).
        """
        target = resolved(path)
        if not target.is_relative_to(self.root):
            raise AudioWriteError(f"{shown(path)} would lie outside the output folder "
                                  f"{shown(self.root)} (through a link?); not written")
        try:
            st = target.stat()
        except (FileNotFoundError, NotADirectoryError):
            st = None
        if target in self.inputs or (st is not None and (st.st_dev, st.st_ino) in self.inodes):
            raise AudioWriteError(f"{shown(path)} is an input of this batch and is never "
                                  "written over; choose another output folder (-o)")


@dataclass
class Job:
    source: Path
    out_dir: Path
    guard: OutputGuard | None = None
    kept: tuple[str, ...] = ()  # stems whose files existed and were left as they were


@dataclass
class Collected:
    jobs: list[Job]
    errors: list[str]  # each counts as a failed input
    warnings: list[str]  # things skipped inside folders, said once


def check_output_folder(output: Path) -> None:
    """Refuse an output folder that cannot be one, before any song starts.

    Raises:
        AudioWriteError: a link loop, an existing file, a name too long.
    """
    try:
        os.stat(output)
    except FileNotFoundError:
        return  # created when the first song is written
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise AudioWriteError(f"the output folder {shown(output)} is a loop of symbolic "
                                  "links; choose another (-o)") from None
        if exc.errno == errno.ENAMETOOLONG:
            raise AudioWriteError(f"the output folder name {shown(output)} is longer than "
                                  "the file system allows") from None
        if exc.errno == errno.ENOTDIR:
            raise AudioWriteError(f"the output folder {shown(output)} lies inside a file, "
                                  "not a folder") from None
        return  # no access: said with the reason when the first song is written
    if not os.path.isdir(output):
        raise AudioWriteError(f"the output folder {shown(output)} is a file, not a folder; "
                              "choose another (-o)")


def find_audio(folder: Path, skip: Path, warnings: list[str]) -> tuple[list[Path], int]:
    """Audio files under ``folder`` (sorted), outside ``skip``; and how many were inside it."""
    from stemsplit.core.audio.read import AUDIO_EXTENSIONS

    found: list[Path] = []
    inside = 0
    seen: set[tuple[int, int]] = set()
    stack = [folder]
    while stack:
        here = stack.pop()
        try:
            st = os.stat(here)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            warnings.append(f"{shown(here)}: skipped, it links back to a folder already "
                            "searched (a loop)")
            continue
        seen.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as exc:
            warnings.append(f"{shown(here)}: skipped, the folder cannot be read "
                            f"({exc.strerror or exc})")
            continue
        folders = []
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir, is_file = entry.is_dir(), entry.is_file()
            except OSError:
                is_dir = is_file = False
            if is_dir:
                folders.append(path)
            elif is_file and path.suffix.lower() in AUDIO_EXTENSIONS:
                if resolved(path).is_relative_to(skip):
                    inside += 1
                else:
                    found.append(path)
            elif entry.is_symlink() and not is_file and not is_dir:
                _say_why_skipped(path, warnings)
        stack.extend(reversed(folders))
    return sorted(found), inside


def _say_why_skipped(path: Path, warnings: list[str]) -> None:
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            warnings.append(f"{shown(path)}: skipped, a loop of symbolic links")
        elif exc.errno in (errno.ENOENT, errno.ENOTDIR):
            warnings.append(f"{shown(path)}: skipped, a link to something that does not exist")
        else:
            warnings.append(f"{shown(path)}: skipped ({exc.strerror or exc})")


def collect_inputs(inputs: list[Path], output: Path) -> Collected:
    """Expand folders, drop duplicates and give each input its own output folder.

    Folders are searched without the output folder, so a second run does not split
    the first run's stems. Song folder names are sanitised first and then made
    distinct ignoring case, as macOS and Windows compare names.
    """
    from stemsplit.core.audio.export import fs_name, sanitize_filename

    root = resolved(output)
    files: list[Path] = []
    errors: list[str] = []
    warnings: list[str] = []
    for item in inputs:
        if os.path.isdir(item):  # never raises, whatever the name (too long, a loop...)
            found, inside = find_audio(item, root, warnings)
            if not found:
                errors.append(f"{shown(item)}: no audio files in this folder"
                              + (f" outside the output folder {shown(output)}" if inside
                                 else ""))
            files.extend(found)
        else:
            files.append(item)  # missing or odd files get their error when loaded
    seen: dict[Path, tuple[Path, str]] = {}  # resolved -> (as given, song folder name)
    taken: set[str] = set()
    for f in files:
        key = resolved(f)
        if key in seen:
            continue
        base = sanitize_filename(f.stem, fallback="song")  # "..", "con", 250 bytes, é...
        name = base
        if name.casefold() in taken:  # song.mp3 and song.wav in one batch must not share a folder
            name = f"{base} ({sanitize_filename(f.suffix.lstrip('.'), fallback='file')})"
        n = 2
        while name.casefold() in taken:
            name, n = f"{base} ({n})", n + 1
        taken.add(name.casefold())
        seen[key] = f, name
    guard = OutputGuard(root, frozenset(seen), frozenset(filter(None, map(_inode, seen))))
    jobs = [Job(f, output / fs_name(name), guard) for f, name in seen.values()]
    return Collected(jobs, errors, warnings)


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except (OSError, RuntimeError):
        return None
    return st.st_dev, st.st_ino
