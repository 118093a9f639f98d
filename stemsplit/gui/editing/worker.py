"""Runs mask edits off the GUI thread, one at a time and in order.

Applying an edit re-synthesises the touched STFT frames of every stem; on a
long song or a wide region that takes far longer than the 50 ms the GUI thread
may be blocked. Jobs run in one background thread, in the order they were
submitted (edits, undos and redos must not overtake each other); results come
back to the GUI thread through a queued Qt signal.
"""

from __future__ import annotations

import logging
import queue
import threading
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class EditWorker(QObject):
    """A serial background queue.

    Signals:
        done(tag, result): a job finished; ``tag`` is what ``submit`` was given.
        failed(tag, message): a job raised.
        idle(): the queue ran empty.
    """

    done = Signal(object, object)
    failed = Signal(object, str)
    idle = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._jobs: queue.Queue = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="stemsplit-edits", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._pending > 0

    def submit(self, tag, job: Callable[[], object]) -> None:
        with self._lock:
            self._pending += 1
        self._jobs.put((tag, job))

    def wait(self, timeout_s: float = 30.0) -> bool:
        """Block until every submitted job has run (tests, closing); True when idle."""
        done = threading.Event()
        self._jobs.put((None, done.set))
        with self._lock:
            self._pending += 1
        return done.wait(timeout_s)

    def close(self) -> None:
        self._jobs.put(None)

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            tag, job = item
            try:
                result = job()
            except Exception as exc:  # reported to the window, never lost silently
                log.error("edit failed: %s", traceback.format_exc())
                result, error = None, f"{type(exc).__name__}: {exc}"
            else:
                error = None
            with self._lock:
                self._pending -= 1
                empty = self._pending == 0
            if tag is not None:
                if error is None:
                    self.done.emit(tag, result)
                else:
                    self.failed.emit(tag, error)
            # The locals would keep the last result (an editor: a song's stems) alive until
            # the next job, long after another song replaced it.
            del item, job, result
            if empty:
                self.idle.emit()
