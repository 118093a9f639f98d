"""`stemsplit train` end to end: train, list, separate with it, stop and resume, remove."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from tests._training_data import write_musdb_tracks

TINY = ["--frames", "64", "--batch-size", "1", "--eval-every", "2", "--valid", "0.34"]


def _run(args, env, **kw):
    return subprocess.run([sys.executable, "-m", "stemsplit", *args], env=env,
                          capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "STEMSPLIT_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "2"}


@pytest.mark.slow
def test_train_then_separate_with_it_and_remove_it(tmp_path, env, demo_audio):
    data = write_musdb_tracks(tmp_path / "data")
    run = _run(["train", str(data), "--out", "mine", "--steps", "2", *TINY], env)
    assert run.returncode == 0, run.stderr
    assert "validation loss" in run.stderr and "installed mine" in run.stdout
    listing = _run(["models", "list"], env).stdout
    assert "mine" in listing and "trained from 2stems" in listing
    assert (tmp_path / "home" / "cache" / "models" / "trained" / "mine" / "training.png"
            ).stat().st_size > 1000

    song = tmp_path / "song.wav"
    clip = demo_audio.samples[:, : 3 * 44100]
    sf.write(song, clip.T, 44100, subtype="FLOAT")
    out = tmp_path / "out"
    sep = _run(["separate", str(song), "--model", "mine", "-o", str(out), "--bit-depth", "32f"],
               env)
    assert sep.returncode == 0, sep.stderr
    vocals, _ = sf.read(out / "song" / "vocals.wav", always_2d=True)
    accomp, _ = sf.read(out / "song" / "accompaniment.wav", always_2d=True)
    assert np.abs(vocals + accomp - clip.T).max() < 1e-6  # sums to the mix

    removed = _run(["models", "remove", "mine"], env)
    assert removed.returncode == 0 and "removed mine" in removed.stdout
    assert "mine" not in _run(["models", "list"], env).stdout


@pytest.mark.slow
def test_sigterm_keeps_a_checkpoint_that_resume_continues(tmp_path, env):
    data = write_musdb_tracks(tmp_path / "data")
    proc = subprocess.Popen([sys.executable, "-m", "stemsplit", "train", str(data), "--out",
                             "mine", "--steps", "400", *TINY], env=env,
                            stderr=subprocess.PIPE, text=True)
    checkpoint = tmp_path / "home" / "cache" / "models" / "trained" / "mine" / \
        "training.safetensors"
    deadline = time.monotonic() + 300
    seen = []
    for line in proc.stderr:  # wait until it is really training
        seen.append(line)
        if line.startswith("step 3/") or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=300)
    assert proc.returncode == 130, "".join(seen) + rest
    assert "--resume" in rest and checkpoint.is_file()
    again = _run(["train", str(data), "--out", "mine", "--steps", "6", "--resume", *TINY], env)
    assert again.returncode == 0, again.stderr
    resumed_at = int(again.stderr.split("resuming mine at step ")[1].split()[0])
    assert 3 <= resumed_at <= 4 and "step 6: validation loss" in again.stderr


def test_bad_requests_get_one_sentence(tmp_path, env):
    data = tmp_path / "empty"
    data.mkdir()
    for args, words in ((["train", str(data), "--out", "x"], "no tracks"),
                        (["train", str(data), "--out", "2stems"], "already the name of a model"),
                        (["train", str(data), "--out", "Bad Name"], "cannot name a model"),
                        (["train", str(data), "--out", "x", "--from", "hpss"],
                         "not a U-Net model")):
        run = _run(args, env)
        assert run.returncode == 1 and words in run.stderr, (args, run.stderr)
        assert "Traceback" not in run.stderr
