"""How long a project takes to open after it is read: the replay of its edits.

Issue 22, item 17: edits are replayed on open, so their cost must follow what they
touch. Each case writes a real project (the demo song looped to the length given;
the stems a fixed split of it: replay cost does not depend on what they hold), then
a fresh child process reads it (``load_project``) and replays its edits into a
``MaskEditor`` as the window does. Printed per case: read time, replay time, per
edit, and the child's peak RSS. The target: a 1000-edit project opens within 2 s of
reading it. The replay's CPU time is printed too: on a shared machine the wall time
follows the load, the CPU time much less. Also printed: the load average at the start.

    .venv/bin/python benchmarks/project_replay.py [--threads 1] [--cases all]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = """
import json, resource, sys, time
import torch
torch.set_num_threads(int(sys.argv[2]))
from stemsplit.core.editing.editor import MaskEditor
from stemsplit.core.project import load_project
t0 = time.perf_counter()
p = load_project(sys.argv[1])
t1, c1 = time.perf_counter(), time.process_time()
ed = MaskEditor(p.mix, p.stems)
ed.replay(p.edits)
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"read_s": t1 - t0, "replay_s": t2 - t1, "replay_cpu_s": c2 - c1,
                  "edits": len(p.edits),
                  "kept": len(ed.history),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def song(seconds: float) -> tuple[np.ndarray, int]:
    from stemsplit.core.audio.read import load_audio
    from stemsplit.core.models.spleeter.weights import demo_song_path

    audio = load_audio(demo_song_path())
    n = int(seconds * audio.sample_rate)
    reps = -(-n // audio.frames)
    return np.tile(audio.samples, (1, reps))[:, :n].copy(), audio.sample_rate


def session_edits(k: int, duration: float, seed: int = 0) -> list:
    """``k`` edits as a long touch-up session makes them: short rectangles, brush dabs
    and small lassos (0.1-0.5 s, a few hundred Hz to a few kHz) all over the song."""
    from stemsplit.core.editing.editor import Edit, Region

    rng = np.random.default_rng(seed)
    out = []
    for i in range(k):
        t = float(rng.uniform(0, duration - 1))
        w = float(rng.uniform(0.1, 0.5))
        f = float(2 ** rng.uniform(7, 13))
        kind = i % 3
        if kind == 0:
            region = Region.rect(t, t + w, f, f * 2, feather=0.3)
        elif kind == 1:
            pts = [(t + j * w / 10, f * 2 ** (0.3 * np.sin(j))) for j in range(10)]
            region = Region.brush(pts, 0.05, radius_oct=0.3)
        else:
            a = np.linspace(0, 2 * np.pi, 40, endpoint=False)
            region = Region.lasso(zip(t + w / 2 * (1 + np.cos(a)), f * 2 ** np.sin(a),
                                      strict=True), feather=0.3, log_freq=True)
        op = ("assign", "remove", "scale")[i % 3]
        out.append(Edit(region, op, "vocals", 0.7 if op != "scale" else 1.5))
    return out


def write(path: Path, seconds: float, edits: list) -> Path:
    from stemsplit.core.project import save_project
    from stemsplit.core.stems import StemSet

    mix, rate = song(seconds)
    v = (mix * 0.4).astype(np.float32)
    stems = StemSet(rate, {"vocals": v, "accompaniment": mix - v}, "2stems")
    return save_project(path, song_path=None, model="2stems", stems=stems, edits=edits, mix=mix)


def raw_edit(region: dict, op: str = "assign") -> dict:
    return {"op": op, "stem": "vocals", "amount": 1.0, "region": region}


def hostile(path: Path, seconds: float, region: dict) -> Path:
    """A project whose one edit is written as JSON (as a crafted file would hold it)."""
    import zipfile

    base = write(path.with_suffix(".base.stemsplit"), seconds, [])
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            body = src.read(name)
            if name == "manifest.json":
                m = json.loads(body)
                m["edits"] = [raw_edit(region)]
                body = json.dumps(m).encode()
            dst.writestr(name, body)
    return path


def cases(tmp: Path) -> dict:
    ring = [[5 + 4 * np.cos(a), 8000 + 7000 * np.sin(a)]
            for a in np.linspace(0, 2 * np.pi, 20_000)]
    return {
        "1000 edits, 3-min song": lambda: write(tmp / "e1000.stemsplit", 180,
                                                session_edits(1000, 180)),
        "10000 edits, 3-min song": lambda: write(tmp / "e10000.stemsplit", 180,
                                                 session_edits(10_000, 180)),
        # The reader admits times within 2 x the song + 60 s and up to 4 x the rate in Hz:
        # these are as far as a crafted file can go on a 10 s song (the editing side of the
        # 2000 s lasso is tests/core/editing/test_replay_bounds.py).
        "one 150 s x 170 kHz lasso, feather 1, 10 s song": lambda: hostile(
            tmp / "lasso.stemsplit", 10, {
                "t0": -70, "t1": 80, "f0": 0, "f1": 170000, "feather": 1.0,
                "outline": [[-70, 0], [80, 0], [80, 170000], [-70, 170000]]}),
        "one 20 000-vertex lasso, 10 s song": lambda: hostile(
            tmp / "ring.stemsplit", 10, {"t0": 1, "t1": 9, "f0": 1000, "f1": 15000,
                                         "feather": 0.3, "outline": ring}),
        "one 3000-point brush, radius 80 s x 170 kHz, 10 s song": lambda: hostile(
            tmp / "brush.stemsplit", 10, {
                "t0": -70, "t1": 80, "f0": 0, "f1": 170000, "feather": 0.5,
                "strokes": [[1 + i * 1e-3, 1000.0 + i] for i in range(3000)],
                "radius_s": 80.0, "radius_hz": 170000.0}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads in the child")
    ap.add_argument("--cases", default="all", help="comma-separated name prefixes, or all")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, "
          f"{args.threads} torch thread(s)", flush=True)
    with tempfile.TemporaryDirectory() as d:
        for name, make in cases(Path(d)).items():
            if args.cases != "all" and not any(name.startswith(c)
                                               for c in args.cases.split(",")):
                continue
            path = make()
            run = subprocess.run([sys.executable, "-c", CHILD, str(path), str(args.threads)],
                                 capture_output=True, text=True, timeout=1800,
                                 env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS":
                                      str(args.threads), "PATH": "/usr/bin:/bin"})
            if run.returncode:
                print(f"{name}: failed\n{run.stderr[-2000:]}")
                continue
            r = json.loads(run.stdout.strip().splitlines()[-1])
            per = r["replay_s"] / max(r["edits"], 1) * 1000
            target = ""
            if r["edits"] == 1000:
                target = f"  (target 2 s: {r['replay_s'] / 2:.2f}x of it)"
            print(f"{name}: read {r['read_s']:.2f} s, replay {r['replay_s']:.2f} s "
                  f"({r['replay_cpu_s']:.2f} s CPU; {per:.2f} ms/edit, {r['kept']} changed the "
                  "stems), "
                  f"peak RSS {r['rss_mb']:.0f} MB{target}", flush=True)


if __name__ == "__main__":
    main()
