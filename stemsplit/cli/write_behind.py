"""Writing a song's stems on a second thread while the network works on the next chunk.

Converting the blocks to 24-bit and writing them cost ~0.4 s for a 4-minute song
on the main thread, between two chunks; the network's kernels release the GIL,
so the write now overlaps the next chunk's work. At most ``depth`` blocks wait
(memory stays bounded by a few chunks). A write error is raised in the main
thread at the next block or at :meth:`drain`; on any exit the thread is stopped
and joined first, so the writer's cleanup (removing the temporary files) never
races a write.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping

import numpy as np

_DONE = object()


class WriteBehind:
    """``write(audio)`` hands a block to ``writer.write`` on a worker thread."""

    def __init__(self, writer, depth: int = 2) -> None:
        self._writer = writer
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="stemsplit-write", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE or self._stop.is_set():
                return
            try:
                self._writer.write(item)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                self._error = exc
                self._stop.set()
                return

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, audio: Mapping[str, np.ndarray]) -> None:
        self._raise()
        while True:
            try:
                self._queue.put(audio, timeout=0.1)
                return
            except queue.Full:
                self._raise()  # the worker stopped on an error and takes no more
                if not self._thread.is_alive():
                    raise RuntimeError("the stem writer stopped") from None

    def drain(self) -> None:
        """Wait until every block is written; raise the worker's error if it had one."""
        self._finish()
        self._raise()

    def _finish(self) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(_DONE, timeout=0.1)
                break
            except queue.Full:
                continue
        self._thread.join()

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is not None:
            self._stop.set()  # an error or Ctrl+C: the rest is thrown away anyway
        self._finish()
