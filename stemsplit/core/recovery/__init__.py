"""Crash recovery: what the window has not saved yet survives a kill or a power cut.

One live window keeps one *recovery folder* under a root it chooses (the user's
data directory), laid out as:

- ``lock``: held (``flock``) by the window that writes the folder; a folder whose
  lock nobody holds belongs to a process that is gone: an *orphan*;
- ``state.json``: song, model, mixer, loop, view, where the base stems are, and
  whether anything is unsaved; replaced atomically (written, fsync'd, renamed);
- ``base.stemsplit``: the separation's stems as a project without edits, written
  once per finished separation (or no file, when the base is a saved project);
- ``journal.jsonl``: append-only, one line per change of the edit list, each
  flushed and fsync'd before the next (a torn last line is the only loss).

``folder`` writes (``RecoveryFolder``), ``journal`` holds the line format and
``orphans`` finds, restores, discards and sets aside what a dead process left.
No Qt: the window calls this from a background thread.
"""

from stemsplit.core.recovery.folder import RecoveryFolder
from stemsplit.core.recovery.orphans import Orphan, RecoveredProject, find_orphans, restore

__all__ = ["Orphan", "RecoveredProject", "RecoveryFolder", "find_orphans", "restore"]
