"""`stemsplit separate` onto a real, nearly full file system (issue 22, item 9): a song
that cannot fit is refused before a byte of it is written, saying how much it needs
and how much is free; the songs that fit are still split.

The file system is a 2 MB tmpfs mounted for the test (needs root, as the tests run);
without the right to mount, the test is skipped and says why.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import soundfile as sf

from stemsplit.cli.main import EXIT_PARTIAL, main
from stemsplit.core.audio.write import OutputFormat, estimate_bytes


@pytest.fixture
def small_disk(tmp_path) -> Path:
    mnt = tmp_path / "small"
    mnt.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a 2 MB tmpfs needs root and mount(8)")
    run = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                         capture_output=True, text=True)
    if run.returncode:
        pytest.skip(f"mount -t tmpfs is not permitted here: {run.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_a_song_that_cannot_fit_is_refused_before_writing_and_the_rest_split(
        tmp_path, small_disk, demo_audio):
    long = tmp_path / "in" / "long.wav"           # 10.9 s: two 24-bit stems take 5.8 MB
    short = tmp_path / "in" / "short.wav"         # 1.5 s: 0.8 MB, fits
    long.parent.mkdir()
    sf.write(long, demo_audio.samples.T, 44100, subtype="PCM_16")
    sf.write(short, demo_audio.samples[:, : 44100 * 3 // 2].T, 44100, subtype="PCM_16")
    free_before = shutil.disk_usage(small_disk).free
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(["separate", str(long), str(short), "-o", str(small_disk)])
    text = err.getvalue()
    assert rc == EXIT_PARTIAL, text
    found = re.search(rf"{re.escape(str(long))}: not enough free space in "
                      rf"{re.escape(str(small_disk / 'long'))}: the files need about "
                      r"([\d.]+) MB, ([\d.]+) MB is free", text)
    assert found, text
    frames = demo_audio.frames + 1
    needed = 2 * estimate_bytes(frames, 2, OutputFormat("wav", "24"))
    assert float(found[1]) == round(needed / 1e6, 1)
    assert float(found[2]) == round(free_before / 1e6, 1)    # nothing written before the check
    assert "Traceback" not in text and "System error" not in text
    assert not (small_disk / "long").exists()                 # no files, no empty folder
    assert sorted(p.name for p in small_disk.iterdir()) == ["short"]
    assert {p.name for p in (small_disk / "short").glob("*.wav")} == {"vocals.wav",
                                                                        "accompaniment.wav"}
    assert not list(small_disk.rglob(".*partial*"))
