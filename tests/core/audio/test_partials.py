"""Temporary names carry the writer's process id; stale ones are swept (issue 10, item 5)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stemsplit.core.audio import partials
from stemsplit.core.audio.partials import STALE_AFTER_S, sweep_files
from stemsplit.core.audio.write import AudioWriter


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture(scope="module")
def live_pid():
    """The id of another process that is running."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def age(path: Path, seconds: float = 2 * STALE_AFTER_S) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_temporary_names_carry_the_process_id(tmp_path):
    with AudioWriter(tmp_path / "vocals.wav", 44100, 2) as writer:
        name = writer.temp_path.name
        assert name.startswith(f".vocals.wav.{os.getpid()}.") and name.endswith(".partial")
        assert partials.is_temp_name(name)


def test_sweep_removes_only_stale_temporaries_of_dead_processes(tmp_path, dead_pid, live_pid):
    stale = tmp_path / f".vocals.wav.{dead_pid}.k2j4h1x9.partial"
    stale.write_bytes(b"half a song")
    age(stale)
    keep = {
        # its process runs: a writer that is busy right now
        tmp_path / f".vocals.wav.{live_pid}.a8d7f6s5.partial": True,
        # ours
        tmp_path / f".drums.wav.{os.getpid()}.q1w2e3r4.partial": True,
        # dead process, but touched a moment ago (a writer on another machine?)
        tmp_path / f".bass.wav.{dead_pid}.z9x8c7v6.partial": False,
        # the user's own files, whatever they look like
        tmp_path / ".notes.partial": True,
        tmp_path / "vocals.wav.partial": True,
        tmp_path / f".{dead_pid}.partial": True,
        tmp_path / "vocals.wav": True,
    }
    for path, old in keep.items():
        path.write_bytes(b"keep")
        if old:
            age(path)
    folder_like = tmp_path / f".other.wav.{dead_pid}.m5n6b7v8.partial"
    folder_like.mkdir()
    age(folder_like)

    assert sweep_files(tmp_path) == [stale]
    assert not stale.exists()
    assert all(p.read_bytes() == b"keep" for p in keep)
    assert folder_like.is_dir()


def test_stale_backup_comes_back_when_its_name_is_free(tmp_path, dead_pid):
    # An overwrite killed after moving the user's file aside and before moving the new one in.
    lost = tmp_path / f".mix.wav.{dead_pid}.p0o9i8u7.backup"
    lost.write_bytes(b"the user's mix")
    # Killed after the new file was in place: the backup is just an old copy.
    done = tmp_path / f".drums.wav.{dead_pid}.y6t5r4e3.backup"
    done.write_bytes(b"old drums")
    (tmp_path / "drums.wav").write_bytes(b"new drums")
    age(lost), age(done)

    assert sorted(sweep_files(tmp_path)) == sorted([lost, done])
    assert (tmp_path / "mix.wav").read_bytes() == b"the user's mix"
    assert (tmp_path / "drums.wav").read_bytes() == b"new drums"
    assert sorted(os.listdir(tmp_path)) == ["drums.wav", "mix.wav"]


def test_a_new_writer_sweeps_its_folder_first(tmp_path, dead_pid):
    stale = tmp_path / f".vocals.wav.{dead_pid}.k2j4h1x9.partial"
    stale.write_bytes(b"left by a killed run")
    age(stale)
    moved_aside = tmp_path / f".vocals.wav.{dead_pid}.b1n2m3k4.backup"
    moved_aside.write_bytes(b"the user's vocals")
    age(moved_aside)
    with AudioWriter(tmp_path / "accompaniment.wav", 44100, 2) as writer:
        assert not stale.exists()
        assert (tmp_path / "vocals.wav").read_bytes() == b"the user's vocals"
        writer.abort()


def test_pid_alive():
    assert partials.pid_alive(os.getpid())
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not partials.pid_alive(proc.pid)
