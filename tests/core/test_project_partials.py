"""A save killed mid-way leaves a hidden .partial; the next save sweeps it (issue 23, item 8)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from stemsplit.core.project import load_project, save_project
from stemsplit.core.stems import StemSet

KILLED_SAVE = r"""
import os, signal, sys
from pathlib import Path

import numpy as np

import stemsplit.core.project as project
from stemsplit.core.stems import StemSet

real = project.np.lib.format.write_array

def write_then_die(out, arr, **kw):  # killed while the data goes out, like a SIGKILL mid-save
    real(out, arr[:, : arr.shape[1] // 2], **kw)
    os.kill(os.getpid(), signal.SIGKILL)

project.np.lib.format.write_array = write_then_die
x = np.zeros((2, 441000), np.float32)
project.save_project(Path(sys.argv[1]), song_path=None, model="2stems",
                     stems=StemSet(44100, {"vocals": x, "accompaniment": x}), edits=[])
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_save_killed_mid_way_is_swept_by_the_next_save(tmp_path):
    target = tmp_path / "p.stemsplit"
    proc = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(target)],
                          env=dict(os.environ, PYTHONPATH=os.getcwd()), timeout=120)
    assert proc.returncode == -signal.SIGKILL
    (left,) = list(tmp_path.glob(".p.stemsplit.*.partial"))
    assert left.stat().st_size > 1_000_000 and not target.exists()
    old = time.time() - 3 * 86400  # the 3-day-old one of the issue
    os.utime(left, (old, old))
    live = tmp_path / f".p.stemsplit.{os.getpid()}.other.partial"  # a save running now
    live.write_bytes(b"in progress")
    os.utime(live, (old, old))

    x = np.full((2, 4410), 0.25, np.float32)
    save_project(target, song_path=None, model="2stems",
                 stems=StemSet(44100, {"vocals": x, "accompaniment": x}), edits=[])
    assert not left.exists() and live.exists()
    assert load_project(target).stems.names == ["vocals", "accompaniment"]
