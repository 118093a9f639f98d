"""Where the time of one ``stemsplit separate`` run goes, stage by stage.

The CLI runs in a fresh process, as a user runs it, with a timer around each
stage's function (exclusive times: a stage's inner stages are not counted twice).
Process start is the time from spawning the interpreter to its first line;
imports are stemsplit's CLI and torch; "exit" is from the end of ``main`` until
the process is gone (the console script skips the interpreter's teardown, so does
this). "writing" runs on its own thread beside the network (``cli.write_behind``):
its time overlaps the others, so the stages may add up to more than the total.

    .venv/bin/python benchmarks/profile_cli.py SONG [--precision auto] [--repeat 3]

Prints one table (seconds, best of ``--repeat`` runs per stage); speed.py uses
``profile()`` for the network's share of the total.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STAGES = ("process start", "imports", "decode", "model load", "resampling", "chunk slicing",
          "STFT", "network", "mask maths", "band extension", "engine glue", "iSTFT",
          "overlap-add", "back to input rate", "quantise + dither", "writing", "loop glue",
          "exit")


class _Timers:
    """Exclusive wall time per stage of wrapped functions (nested calls are subtracted)."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self._local = threading.local()  # one nesting stack per thread (stems are written
        # on their own thread, so "writing" overlaps the network and is not on the path)

    @property
    def _stack(self) -> list[float]:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack

    def wrap(self, owner, name: str, stage: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            self._stack.append(0.0)
            try:
                return original(*args, **kwargs)
            finally:
                inner = self._stack.pop()
                took = time.perf_counter() - started
                self.totals[stage] += took - inner
                if self._stack:
                    self._stack[-1] += took

        setattr(owner, name, timed)


def _child(song: str, out: str, precision: str) -> None:
    first_line = time.time()
    started = time.perf_counter()
    import soxr

    from stemsplit.cli import export as cli_export
    from stemsplit.cli import main as cli
    from stemsplit.cli import separate as cli_separate
    from stemsplit.core.audio import read, write
    from stemsplit.core.engine import dsp, overlap_add
    from stemsplit.core.engine.separator import BackToSource
    from stemsplit.core.models import registry
    from stemsplit.core.models.spleeter import engine
    from stemsplit.core.models.spleeter.fused import FusedStemUNets

    imports = time.perf_counter() - started
    timers = _Timers()
    for owner, name, stage in [
        (read, "load_audio", "decode"), (registry, "load_separator", "model load"),
        (soxr, "resample", "resampling"), (soxr.ResampleStream, "resample_chunk", "resampling"),
        (overlap_add, "slice_padded", "chunk slicing"), (dsp, "stft", "STFT"),
        (FusedStemUNets, "__call__", "network"), (dsp, "ratio_masks", "mask maths"),
        (dsp, "extend_masks", "band extension"), (dsp, "istft", "iSTFT"),
        (engine.SpleeterSeparator, "_run_batch", "engine glue"),
        (overlap_add, "add_chunk", "overlap-add"), (BackToSource, "push", "back to input rate"),
        (write.AudioWriter, "_quantise", "quantise + dither"),
        (write.AudioWriter, "write", "writing"), (cli_export.StemStreamWriter, "commit", "writing"),
        (cli_separate._Batch, "_separate_one", "loop glue"),
    ]:
        timers.wrap(owner, name, stage)
    code = cli.main(["separate", song, "-o", out, "--overwrite", "--quiet", "--device", "cpu",
                     "--precision", precision])
    if code != 0:
        raise SystemExit(code)
    print(json.dumps({"first_line": first_line, "end": time.time(), "imports": imports,
                      "stages": timers.totals}), flush=True)
    cli._leave_now(code)  # as the console script ends (main(argv) itself returns)


def profile(song: Path, precision: str, env: dict | None = None) -> dict[str, float]:
    """One profiled CLI run in a fresh process: stage -> seconds, plus ``total``."""
    env = dict(os.environ if env is None else env, OMP_NUM_THREADS="2", MKL_NUM_THREADS="2",
               PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory(prefix="stemsplit-profile-") as out:
        spawned = time.time()
        started = time.perf_counter()
        done = subprocess.run([sys.executable, __file__, "--child", str(song), out, precision],
                              env=env, capture_output=True, text=True, check=False)
        total = time.perf_counter() - started
        gone = time.time()
    if done.returncode != 0:
        raise RuntimeError(f"profiled run failed: {done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    stages = dict.fromkeys(STAGES, 0.0)
    stages.update(report["stages"])
    stages["process start"] = report["first_line"] - spawned
    stages["imports"] = report["imports"]
    stages["exit"] = gone - report["end"]
    stages["total"] = total
    return stages


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("song", type=Path)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = [profile(args.song, args.precision) for _ in range(max(1, args.repeat))]
    best = min(runs, key=lambda r: r["total"])
    print(f"{'stage':<22} {'seconds':>8} {'share':>7}   (fastest of {len(runs)} runs; "
          f"load {os.getloadavg()[0]:.1f})")
    for stage in (*STAGES, "total"):
        print(f"{stage:<22} {best[stage]:8.2f} {best[stage] / best['total']:7.1%}")


if __name__ == "__main__":
    main()
