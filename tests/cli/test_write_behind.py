"""Writing on a second thread: every block in order, errors reach the main thread, no race."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from stemsplit.cli.write_behind import WriteBehind
from stemsplit.core.errors import AudioWriteError


class _Recorder:
    def __init__(self, fail_at: int | None = None) -> None:
        self.blocks, self.threads, self.fail_at = [], set(), fail_at

    def write(self, audio) -> None:
        self.threads.add(threading.current_thread().name)
        if self.fail_at is not None and len(self.blocks) == self.fail_at:
            raise AudioWriteError("disk full")
        self.blocks.append(audio["a"][0, 0])


def test_every_block_is_written_in_order_off_the_main_thread():
    rec = _Recorder()
    with WriteBehind(rec) as behind:
        for i in range(20):
            behind.write({"a": np.full((1, 4), i, np.float32)})
        behind.drain()
    assert rec.blocks == list(range(20))
    assert rec.threads == {"stemsplit-write"}


def test_a_write_error_is_raised_in_the_main_thread():
    rec = _Recorder(fail_at=3)
    with pytest.raises(AudioWriteError, match="disk full"), WriteBehind(rec) as behind:
        for i in range(50):
            behind.write({"a": np.full((1, 4), i, np.float32)})
        behind.drain()
    assert rec.blocks == [0, 1, 2]
    assert not any(t.name == "stemsplit-write" for t in threading.enumerate())


def test_leaving_on_an_error_stops_and_joins_the_writer():
    rec = _Recorder()
    with pytest.raises(KeyboardInterrupt), WriteBehind(rec) as behind:
        behind.write({"a": np.zeros((1, 4), np.float32)})
        raise KeyboardInterrupt
    assert not any(t.name == "stemsplit-write" for t in threading.enumerate())
