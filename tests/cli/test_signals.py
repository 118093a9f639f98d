"""SIGTERM and SIGHUP stop `stemsplit separate` cleanly; a killed run's leftovers are swept.

Issue 10, item 5. The runs are real: `python -m stemsplit separate` in a
subprocess on a long generated song, signalled while it writes.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stemsplit.cli.main import EXIT_OK, main
from stemsplit.core.audio.song_folder import RECORD_NAME


@pytest.fixture(scope="module")
def long_song(tmp_path_factory, demo_audio) -> Path:
    """Three minutes (the demo looped): minutes of work, so a signal lands mid-run."""
    reps = int(np.ceil(180 * 44100 / demo_audio.frames))
    path = tmp_path_factory.mktemp("long") / "long.wav"
    sf.write(path, np.tile(demo_audio.samples, reps).T, 44100, subtype="PCM_16")
    return path


def start(song: Path, out: Path, *flags: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "stemsplit", "separate", str(song),
                             "-o", str(out), *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_partials(proc: subprocess.Popen, out: Path, timeout: float = 120) -> list[Path]:
    """The run is writing: its hidden temporary files exist."""
    deadline = time.monotonic() + timeout
    while not (found := sorted(out.rglob(".*.partial"))):
        if proc.poll() is not None:
            pytest.fail(f"the run ended first (rc {proc.returncode}): {proc.stderr.read()}")
        assert time.monotonic() < deadline, "no temporary files appeared"
        time.sleep(0.05)
    return found


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


SIGNALS = [pytest.param(signal.SIGTERM, "normalise", id="SIGTERM-normalise"),
           pytest.param(getattr(signal, "SIGHUP", None), "clip", id="SIGHUP-clip",
                        marks=pytest.mark.skipif(
                            not hasattr(signal, "SIGHUP")
                            or signal.getsignal(signal.SIGHUP) is signal.SIG_IGN,
                            reason="no SIGHUP here, or ignored (nohup)"))]


@pytest.mark.parametrize("signum, peaks", SIGNALS)
def test_signal_mid_run_removes_temporary_files(long_song, tmp_path, signum, peaks):
    out = tmp_path / "out"
    proc = start(long_song, out, "--peaks", peaks, "--rate", "48000")
    try:
        wait_for_partials(proc, out)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    name = signal.Signals(signum).name
    assert proc.returncode == 128 + signum, err
    assert f"terminated ({name}): long.wav left unwritten" in err
    assert files_under(out) == []  # no stems, no .partial, no float spools


def test_next_run_sweeps_a_killed_runs_files_and_nothing_else(long_song, tmp_path, demo_audio):
    """Issue 22, item 6: staleness is decided by the song folder's lock, not by age: what a
    killed run left goes at once (also files named after a live process: ids are reused)."""
    out = tmp_path / "out"
    folder = out / "long"
    proc = start(long_song, out, "--peaks", "normalise")
    try:
        left = wait_for_partials(proc, out)
    finally:
        proc.kill()  # SIGKILL: nothing can clean up
        proc.wait()
    assert set(left) <= set(files_under(out))  # what a hard kill leaves (and its lock file)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    leftovers = [folder / f".vocals.wav.{sleeper.pid}.a8d7f6s5.partial",  # a live id
                 folder / f".drums.wav.{proc.pid}.z9x8c7v6.partial"]  # touched just now
    keep = [folder / ".notes.partial", folder / "mix.wav.partial", folder / "old mix.wav"]
    moved_aside = folder / f".first take.wav.{proc.pid}.b1n2m3k4.backup"
    try:
        for path in [*leftovers, *keep]:
            path.write_bytes(b"keep")
        moved_aside.write_bytes(b"the user's first take")

        again = tmp_path / "again" / "long.wav"  # a short song with the same name: same folder
        again.parent.mkdir()
        sf.write(again, demo_audio.samples[:, : 44100 * 3].T, 44100, subtype="PCM_16")
        assert main(["separate", str(again), "-o", str(out), "-q"]) == EXIT_OK
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not any(p.exists() for p in [*left, *leftovers])
    assert all(p.read_bytes() == b"keep" for p in keep)
    assert (folder / "first take.wav").read_bytes() == b"the user's first take"
    assert files_under(out) == sorted([*keep, folder / "first take.wav", folder / RECORD_NAME,
                                      folder / "vocals.wav", folder / "accompaniment.wav"])
