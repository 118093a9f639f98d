"""What a window that died left behind: find it, restore it, discard it or set it aside."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from stemsplit.core.errors import StemsplitError
from stemsplit.core.project import Project, load_project
from stemsplit.core.recovery import journal
from stemsplit.core.recovery.folder import BASE, FORMAT, JOURNAL, LOCK, STATE, lock

DAMAGED = "damaged"  # sub-folder of the root where unreadable folders are set aside
MAX_STATE_BYTES = 1 << 20


class RecoveryError(StemsplitError):
    """A recovery folder cannot be restored; the message says why, for a user."""


@dataclass
class Orphan:
    """A recovery folder whose window is gone, with unsaved work in it.

    Attributes:
        folder: the folder; ``held`` is its lock, held by us until restored or discarded.
        song: the song's file name (for the question), model, when it was last written.
    """

    folder: Path
    held: object
    song: str
    model: str
    written: float
    state: dict = field(default_factory=dict)

    @property
    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.written))

    def discard(self) -> None:
        """The user does not want it: delete the folder."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.release()

    def release(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            self.held.close()
        self.held = None


@dataclass
class RecoveredProject(Project):
    """A restored session, opened in the window like a project.

    Attributes:
        recovered_from: the orphan's folder. ``project_path``: the saved project the
            session belonged to (None: it was never saved). ``loop``: the mixer's loop
            as the state file had it. ``orphan``: its lock, for the folder to go on.
    """

    recovered_from: Path | None = None
    project_path: Path | None = None
    loop: dict = field(default_factory=dict)
    orphan: Orphan | None = None


def find_orphans(root: Path) -> tuple[list[Orphan], list[str]]:
    """Folders under ``root`` that no live window holds, newest first.

    Folders with nothing unsaved are deleted; unreadable ones are set aside under
    ``root/damaged`` (never deleted, never fatal). Never raises.

    Returns:
        The orphans (each locked by this process) and a sentence per folder set aside.
    """
    orphans: list[Orphan] = []
    notes: list[str] = []
    try:
        entries = sorted(p for p in root.iterdir() if p.is_dir() and p.name != DAMAGED)
    except OSError:
        return [], []
    for folder in entries:
        try:
            held = lock(folder / LOCK)
        except OSError:
            held = None  # unreadable: leave it alone
        if held is None:
            continue  # a live window writes it
        try:
            state = _read_state(folder)
        except RecoveryError as exc:
            held.close()
            notes.append(set_aside(folder, root, str(exc)))
            continue
        if not state.get("unsaved") or not (state.get("base") or state.get("project")):
            shutil.rmtree(folder, ignore_errors=True)  # nothing unsaved: nothing to offer
            held.close()
            continue
        song = state.get("song_path")
        orphans.append(Orphan(folder, held, Path(song).name if isinstance(song, str) and song
                              else "an untitled song", str(state.get("model", "")),
                              float(state.get("written", 0) or 0), state))
    orphans.sort(key=lambda o: o.written, reverse=True)
    return orphans, notes


def _read_state(folder: Path) -> dict:
    path = folder / STATE
    try:
        if not path.is_file():
            raise RecoveryError("it has no state file")
        if path.stat().st_size > MAX_STATE_BYTES:
            raise RecoveryError("its state file is too large")
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        raise RecoveryError(f"its state file cannot be read ({e})") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise RecoveryError("its state file is not a stemsplit recovery state")
    return state


def set_aside(folder: Path, root: Path, reason: str) -> str:
    """Move a damaged folder to ``root/damaged``; the sentence that tells the user."""
    target = root / DAMAGED / folder.name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        folder.replace(target)
    except OSError:
        target = folder  # cannot move it: leave it where it is, still say so
    return (f"A recovery snapshot could not be restored because {reason}; it was set aside "
            f"in {target}.")


def restore(orphan: Orphan) -> RecoveredProject:
    """Read an orphan back: base stems, the journal replayed to its edit list, the mixer.

    Raises:
        RecoveryError: the base stems or the journal are damaged, or the project the
            session started from was changed or removed since.
    """
    state, folder = orphan.state, orphan.folder
    ref = state.get("project")
    try:
        if state.get("base"):
            base = load_project(folder / BASE)
        elif isinstance(ref, dict):
            path = Path(str(ref.get("path")))
            st = path.stat()
            if (st.st_size, st.st_mtime_ns) != (ref.get("size"), ref.get("mtime_ns")):
                raise RecoveryError(f"the project it started from, {path.name}, was changed "
                                    "since")
            base = load_project(path)
        else:
            raise RecoveryError("it names no stems")
        edits = journal.replay(folder / JOURNAL, base.edits)
    except FileNotFoundError as e:
        raise RecoveryError(f"{Path(e.filename or '').name or 'a file'} is missing") from e
    except OSError as e:
        raise RecoveryError(f"it cannot be read ({e.strerror or e})") from e
    except journal.JournalError as e:
        raise RecoveryError(str(e)) from e
    except StemsplitError as e:
        if isinstance(e, RecoveryError):
            raise
        raise RecoveryError(f"its stems cannot be read ({e})") from e
    unknown = {e.stem for e in edits} - set(base.stems.names)
    if unknown:
        raise RecoveryError(f"the edit journal names unknown stems {sorted(unknown)}")
    song = state.get("song_path")
    mixer, view, loop = (state.get(k) if isinstance(state.get(k), dict) else {}
                         for k in ("mixer", "view", "loop"))
    return RecoveredProject(
        path=folder, song_path=Path(song) if isinstance(song, str) and song else None,
        model=str(state.get("model") or base.model), stems=base.stems, mix=base.mix,
        edits=edits, mixer=mixer, view=view, recovered_from=folder,
        project_path=Path(str(ref["path"])) if isinstance(ref, dict) else None,
        loop=loop, orphan=orphan)
