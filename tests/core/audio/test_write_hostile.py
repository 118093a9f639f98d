"""Full disks, vanished and read-only folders, the commit journal and the song-folder lock.

Issue 22, items 5, 6, 9 and 13.

A disk cannot be filled in a test, but ``/dev/full`` fails every write with the
real ENOSPC, and the free-space check reads the real file system's figures.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from stemsplit.core.audio.commit import commit_all, recover
from stemsplit.core.audio.partials import sweep_files
from stemsplit.core.audio.song_folder import LOCK_NAME, FolderLock, holder
from stemsplit.core.audio.write import (
    AudioWriter,
    OutputFormat,
    _disk_message,
    _folder_message,
    check_writable,
)
from stemsplit.core.errors import AudioWriteError


def test_not_enough_space_says_how_much_is_needed_and_free(tmp_path):
    free = shutil.disk_usage(tmp_path).free
    with pytest.raises(AudioWriteError) as info:
        check_writable(tmp_path, free + 10**9)
    text = str(info.value)
    assert text.startswith(f"not enough free space in {tmp_path}: the files need about ")
    assert f"{(free + 10**9) / 1e6:.1f} MB" in text and "MB is free" in text


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_a_full_disk_is_called_full_with_the_space_needed_and_free(tmp_path):
    with pytest.raises(OSError) as real, open("/dev/full", "wb") as fh:
        fh.write(b"x" * 4096)
        fh.flush()
    assert real.value.errno == errno.ENOSPC
    text = _disk_message(tmp_path / "vocals.wav", real.value, needed=8_053_063)
    free = shutil.disk_usage(tmp_path).free / 1e6
    assert text == (f"cannot write vocals.wav: the disk is full (about 8.1 MB needed, "
                    f"{free:.1f} MB free in {tmp_path})")
    short = RuntimeError("805536 requested and 420864 written")  # libsndfile's own words
    assert "the disk is full" in _disk_message(tmp_path / "vocals.wav", short)


def test_an_output_folder_removed_mid_run_is_not_called_read_only(tmp_path):
    folder = tmp_path / "song"
    writer = AudioWriter(folder / "vocals.wav", 44100, 2, OutputFormat("wav", "16"))
    writer.write(np.zeros((2, 4410), np.float32))
    shutil.rmtree(folder)
    with pytest.raises(AudioWriteError) as info:
        writer.commit()
    assert str(info.value) == (f"cannot write vocals.wav: its folder {folder} was removed "
                               "while the file was being written")


def test_a_read_only_parent_is_named_not_the_child(tmp_path):
    child = tmp_path / "out" / "song"
    denied = PermissionError(errno.EACCES, "Permission denied", str(child))
    assert _folder_message(child, denied) == (
        f"cannot create {child}: the folder {tmp_path} is read-only (or not yours)")


def _writers(folder, n, depth, overwrite):
    writers = [AudioWriter(folder / f"{s}.wav", 44100, 1, OutputFormat("wav", depth),
                           overwrite) for s in ("vocals", "drums", "bass")[:n]]
    for w in writers:
        w.write(np.zeros((1, 441), np.float32))
    return writers


def test_a_commit_journal_left_by_a_killed_writer_is_finished_not_mixed(tmp_path):
    """The state a SIGKILL after the first rename leaves, made by a real commit that a
    child process runs up to that point (tests/cli has the whole CLI killed mid-commit)."""
    import soundfile as sf

    for w in _writers(tmp_path, 3, "16", False):
        w.commit()
    script = f"""
import os, numpy as np
from stemsplit.core.audio import commit
from stemsplit.core.audio.write import AudioWriter, OutputFormat
from pathlib import Path
ws = [AudioWriter(Path({str(tmp_path)!r}) / f"{{s}}.wav", 44100, 1, OutputFormat("wav", "32f"),
                  True) for s in ("vocals", "drums", "bass")]
for w in ws:
    w.write(np.zeros((1, 441), np.float32))
real = AudioWriter._place
def place_then_die(self):
    real(self)
    os._exit(9)  # as abrupt as SIGKILL: no finally, no rollback
AudioWriter._place = place_then_die
commit.commit_all(ws)
"""
    proc = subprocess.run([sys.executable, "-c", script], env={**os.environ,
                          "PYTHONPATH": os.getcwd()}, capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    kinds = {p.name: sf.info(p).subtype for p in tmp_path.glob("*.wav")}
    assert kinds == {"vocals.wav": "FLOAT", "drums.wav": "PCM_16", "bass.wav": "PCM_16"}
    assert len(list(tmp_path.glob(".stemsplit-commit.*.json"))) == 1
    assert len(recover(tmp_path)) == 1  # its writer is dead
    kinds = {p.name: sf.info(p).subtype for p in tmp_path.glob("*.wav")}
    assert kinds == {"vocals.wav": "FLOAT", "drums.wav": "FLOAT", "bass.wav": "FLOAT"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bass.wav", "drums.wav", "vocals.wav"]


def test_commit_all_leaves_no_journal_behind(tmp_path):
    commit_all(_writers(tmp_path, 2, "16", False))
    commit_all(_writers(tmp_path, 2, "24", True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["drums.wav", "vocals.wav"]


def test_the_lock_names_its_holder_and_is_waited_for(tmp_path):
    folder = tmp_path / "song"
    waited = []
    with FolderLock(folder):
        assert holder(folder) == os.getpid()
        got = threading.Event()

        def second() -> None:
            with FolderLock(folder, on_wait=waited.append):
                got.set()

        # filelock is per thread here (thread_local): a second thread is a second writer
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert not got.is_set() and waited == [os.getpid()]
    thread.join(10)
    assert got.is_set()
    assert not (folder / LOCK_NAME).exists()


def test_under_the_lock_every_leftover_is_stale_whatever_its_age_or_id(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        fresh = [tmp_path / f".vocals.wav.{live.pid}.a1b2c3d4.partial",
                 tmp_path / f".drums.wav.{live.pid + 1}.e5f6g7h8.partial"]
        for p in fresh:
            p.write_bytes(b"half a song")
        assert sweep_files(tmp_path) == []  # without the lock: too young, or alive
        with FolderLock(tmp_path):
            assert sorted(sweep_files(tmp_path, held=True)) == sorted(fresh)
    finally:
        live.kill()
        live.wait()
