"""`--peaks normalise` streams with bounded memory (issue 10, item 8).

It used to hold every stem block of the song (and copies of them) until the
end: about 12x the decoded input, 18 GB for an hour at 48 kHz. Now the stems
wait on disk as 32-bit float and a second pass scales them, so its peak memory
is that of a plain ``--peaks clip`` run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stemsplit.core.audio.export import CEILING_DB
from stemsplit.core.audio.resampling import resampled_length

SECONDS = 120
LSB16 = 2.0 ** -15


@pytest.fixture(scope="module")
def loud_song(tmp_path_factory, demo_audio) -> tuple[Path, int]:
    """2 minutes of the demo, 2.5x too loud (a float WAV keeps the overs)."""
    frames = SECONDS * 44100
    reps = int(np.ceil(frames / demo_audio.frames))
    audio = 2.5 * np.tile(demo_audio.samples, reps)[:, :frames]
    path = tmp_path_factory.mktemp("loud") / "loud.wav"
    sf.write(path, audio.T, 44100, subtype="FLOAT")
    return path, frames


def run_measured(song: Path, out: Path, *flags: str) -> int:
    """Run the CLI; returns its peak resident memory in bytes (Linux: ru_maxrss in KiB)."""
    proc = subprocess.Popen([sys.executable, "-m", "stemsplit", "separate", str(song),
                             "-o", str(out), "-q", "--rate", "48000", *flags],
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert os.waitstatus_to_exitcode(status) == 0, err
    return usage.ru_maxrss * 1024


def read(path: Path) -> np.ndarray:
    data, rate = sf.read(path, dtype="float64", always_2d=True)
    assert rate == 48000
    return data.T


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units differ")
def test_normalise_needs_no_more_memory_than_clip_and_is_exact(loud_song, tmp_path):
    song, frames = loud_song
    clip_rss = run_measured(song, tmp_path / "clip", "--peaks", "clip", "--bit-depth", "32f")
    norm_rss = run_measured(song, tmp_path / "norm", "--peaks", "normalise", "--bit-depth", "16")
    extra_mb = (norm_rss - clip_rss) / 1e6
    print(f"peak RSS: clip {clip_rss / 1e6:.0f} MB, normalise {norm_rss / 1e6:.0f} MB")
    # Holding the stems cost +440 MB here before (the input is 42 MB of float samples).
    assert extra_mb < 300, f"--peaks normalise used {extra_mb:.0f} MB more than clip"

    # Same stems, one common gain, brought to the ceiling, exact length, dithered 16 bit.
    unscaled = {s: read(tmp_path / "clip" / "loud" / f"{s}.wav")
                for s in ("vocals", "accompaniment")}
    scaled = {s: read(tmp_path / "norm" / "loud" / f"{s}.wav") for s in unscaled}
    assert sf.info(tmp_path / "norm" / "loud" / "vocals.wav").subtype == "PCM_16"
    length = resampled_length(frames, 44100, 48000)
    assert all(a.shape == (2, length) for a in [*unscaled.values(), *scaled.values()])
    gains = {s: float(np.sum(scaled[s] * unscaled[s]) / np.sum(unscaled[s] ** 2))
             for s in unscaled}
    assert gains["vocals"] == pytest.approx(gains["accompaniment"], rel=1e-4)
    gain = gains["vocals"]
    for s in unscaled:  # 16-bit: TPDF dither (1 LSB) plus rounding (1/2 LSB)
        assert np.abs(scaled[s] - gain * unscaled[s]).max() <= 1.5 * LSB16 + 1e-9
    peak = max(np.abs(a).max() for a in scaled.values())
    assert 20 * np.log10(peak) == pytest.approx(CEILING_DB, abs=0.2)
    mix = sum(unscaled.values()) * gain
    residual = sum(scaled.values()) - mix
    assert 10 * np.log10(np.sum(residual ** 2) / np.sum(mix ** 2)) < -60  # the sum survives
    # spools and temporaries are gone; what stays is the record of the song's source
    assert [p.name for p in (tmp_path / "norm").rglob(".*")] == [".stemsplit.json"]
