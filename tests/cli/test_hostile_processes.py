"""`stemsplit separate` in real processes: locks, SIGKILL mid-commit, broken terminals, a full
weights cache (issue 22, batch CLI items 2-5). Each runs the CLI on 1.5 s of audio."""

from __future__ import annotations

import io
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stemsplit.cli.main import EXIT_OK, main
from stemsplit.core.audio.commit import PAUSE_ENV
from stemsplit.core.audio.song_folder import FolderLock
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clip(demo_audio) -> np.ndarray:
    return demo_audio.samples[:, 44100 * 3: 44100 * 3 + 44100 * 3 // 2]


def song(path: Path, clip: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, clip.T, 44100, subtype="PCM_16")
    return path


def cli(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "stemsplit", *args], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                            **kwargs)


def subtypes(folder: Path) -> dict[str, str]:
    return {p.name: sf.info(p).subtype for p in sorted(folder.glob("*.wav"))}


def test_a_second_run_waits_for_the_song_folders_lock(tmp_path, clip):  # item 5
    source = song(tmp_path / "a.wav", clip)
    out = tmp_path / "out"
    with FolderLock(out / "a"):
        proc = cli("separate", str(source), "-o", str(out), "--bit-depth", "32f",
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            assert line.startswith(f"waiting: another stemsplit run (process {os.getpid()}) "
                                   f"is writing to {out / 'a'}"), line + proc.stderr.read()
            time.sleep(1.0)
            assert proc.poll() is None and subtypes(out / "a") == {}
        except BaseException:
            proc.kill()
            raise
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_OK, err
    assert subtypes(out / "a") == {"accompaniment.wav": "FLOAT", "vocals.wav": "FLOAT"}
    assert not (out / "a" / ".stemsplit.lock").exists()


def test_sigkill_during_the_commit_never_leaves_a_mixed_set(tmp_path, clip):  # item 5
    source = song(tmp_path / "a.wav", clip)
    out, folder = tmp_path / "out", tmp_path / "out" / "a"
    assert main(["separate", str(source), "-o", str(out), "--bit-depth", "16", "-q"]) == 0
    proc = cli("separate", str(source), "-o", str(out), "--overwrite", "--bit-depth", "32f",
               "-q", env={PAUSE_ENV: "60"}, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while subtypes(folder).get("vocals.wav") != "FLOAT":  # the first stem is in place
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    assert subtypes(folder) == {"accompaniment.wav": "PCM_16", "vocals.wav": "FLOAT"}  # mixed
    assert main(["separate", str(source), "-o", str(out), "-q"]) == EXIT_OK  # the next run
    assert subtypes(folder) == {"accompaniment.wav": "FLOAT", "vocals.wav": "FLOAT"}
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == [
        ".stemsplit.json"]  # no backup, no journal, no partial, no lock


def test_an_unwritable_terminal_never_fails_written_stems(tmp_path, clip):  # items 2 and 4
    name = "café ♫"
    source = song(tmp_path / f"{name}.wav", clip)
    out = tmp_path / "out"
    read, write = os.pipe()
    os.close(read)  # like `| true`: every write to stdout is EPIPE
    proc = cli("separate", str(source), "-o", str(out), stdout=write,
               env={"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": "latin-1"},
               preexec_fn=lambda: os.close(2))  # 2>&-
    os.close(write)
    assert proc.wait(timeout=120) == EXIT_OK
    folder = Path(os.fsdecode(os.fsencode(out) + b"/" + name.encode("utf-8")))
    assert subtypes(folder) == {"accompaniment.wav": "PCM_24", "vocals.wav": "PCM_24"}


def test_a_full_stdout_and_a_narrow_encoding_in_process(tmp_path, clip, monkeypatch):  # item 4
    source = song(tmp_path / "tune ♫.wav", clip)
    err = io.BytesIO()
    with open("/dev/full", "w") as full:
        monkeypatch.setattr(sys, "stdout", full)
        monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(err, encoding="latin-1",
                                                            write_through=True))
        rc = main(["separate", str(source), str(tmp_path / "missing.wav"),
                   "-o", str(tmp_path / "out")])
    text = err.getvalue().decode("latin-1")
    assert rc == 1, text  # one song split, one missing: not "all failed"
    assert "Traceback" not in text and "BrokenPipe" not in text and "unexpected" not in text
    assert "1 split, 1 failed, 0 skipped" in text
    assert subtypes(tmp_path / "out" / "tune ♫") == {"accompaniment.wav": "PCM_24",
                                                     "vocals.wav": "PCM_24"}


def test_models_list_into_head_prints_no_traceback():  # item 4
    proc = cli("models", "list", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (3 << 20, 3 << 20))


def test_a_weights_cache_that_cannot_be_written_costs_a_warning_not_the_songs(tmp_path, clip):
    files = [song(tmp_path / f"{n}.wav", clip) for n in ("one", "two")]  # item 3
    cache = tmp_path / "cache"  # empty: the 79 MB copy is made now, and cannot be (3 MB cap)
    proc = cli("separate", *map(str, files), "-o", str(tmp_path / "out"),
               env={"STEMSPLIT_WEIGHTS_CACHE": str(cache)}, preexec_fn=_limit_file_size,
               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == EXIT_OK, err
    assert err.count("warning: cannot keep a fast copy of the built-in weights") == 1, err
    assert "converted in memory" in err and "SafetensorError" not in err
    assert "2 split, 0 failed, 0 skipped" in out
    assert not list(cache.glob("*.safetensors"))
