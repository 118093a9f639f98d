"""Opening a project over an open song without both songs in RAM at once.

Until the project has loaded, the open song must stay whole: a damaged project
or a cancelled open leaves it as it was, edits included. On a 30-minute song
its mix and stems are 1.9 GB; with the project's own 1.9 GB being read beside
them the window peaked at 5 GB. So the song's arrays are first moved to a
scratch file in place (``core.recovery.spill.page_out``: same objects, same
bits, pages read back from the file cache on demand), in the edit worker so no
edit writes them meanwhile, and the project is read only after that.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

MIN_BYTES = 256 << 20  # under this (a 4-minute song) both songs fit in RAM: no disk traffic


def old_song_to_disk(window, min_bytes: int | None = None) -> threading.Event | None:
    """Start moving the open song's arrays to disk; the Event is set once that is done
    (or failed: the song then simply stays in RAM). None when there is nothing to move."""
    s, applier = window.session, window.edits.applier
    arrays = [s.audio.samples] if s.audio is not None else []
    if s.stems is not None:
        arrays += list(s.stems.stems.values())
    limit = MIN_BYTES if min_bytes is None else min_bytes
    if not arrays or sum(a.nbytes for a in arrays) < limit:
        return None
    folder = applier.scratch_folder()
    if folder is None:
        return None
    done = threading.Event()

    def job():  # edit worker thread: the edits queued before this are in the arrays
        from stemsplit.core.recovery.spill import page_out

        editor = applier.editor
        live = list(editor.stems().stems.values()) if editor is not None else []
        try:
            moved = page_out(arrays + live, folder)
            log.info("the open song's %d MB wait on disk while a project opens", moved >> 20)
        except OSError as exc:
            log.warning("the open song stays in RAM while the project opens: %s", exc)
        finally:
            done.set()
    applier.worker.submit(("open", "page out"), job)
    return done
