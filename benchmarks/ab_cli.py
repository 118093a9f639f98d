"""A/B of ``stemsplit separate`` between source trees, interleaved in one run.

Each tree (``name=path``, e.g. a ``git archive`` of main unpacked in /tmp, and this
checkout) runs as a fresh ``python -m stemsplit`` process with that tree first on
the path, on 2 threads, with its own cache warmed by one run first; then the trees
take turns ``repeat`` times. Prints each run and the best wall and CPU time (user +
system) per tree: on a shared machine the CPU time moves less than the wall time.

    .venv/bin/python benchmarks/ab_cli.py SONG REPEAT before=/tmp/main-tree after=.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(tree: str, song: str, env: dict, precision: str) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS GB) of one separation by the stemsplit in ``tree``."""
    out = tempfile.mkdtemp(prefix="ab-out-")  # also the cwd: "" on sys.path must not win
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "stemsplit", "separate", song, "-o", out,
                             "--overwrite", "--quiet", "--device", "cpu", "--precision",
                             precision], env=dict(env, PYTHONPATH=tree), cwd=out)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{tree}: the run failed")
    return (time.perf_counter() - started, usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss / 1024 / 1024)


def main() -> None:
    song, repeat = sys.argv[1], int(sys.argv[2])
    trees = {name: str(Path(path).resolve()) for name, path in
             (a.split("=", 1) for a in sys.argv[3:])}
    precision = os.environ.get("AB_PRECISION", "bf16")
    env = dict(os.environ, OMP_NUM_THREADS="2", MKL_NUM_THREADS="2",
               STEMSPLIT_HOME=tempfile.mkdtemp(prefix="ab-home-"))
    env.pop("STEMSPLIT_WEIGHTS_CACHE", None)
    results: dict[str, list] = {k: [] for k in trees}
    for tree in trees.values():
        run(tree, song, env, precision)  # warm the caches (weights copy, fused network)
    for _ in range(repeat):
        for name, tree in trees.items():
            results[name].append(run(tree, song, env, precision))
        print(f"load {os.getloadavg()[0]:.1f}", {k: [round(x, 2) for x in v[-1]]
                                                  for k, v in results.items()}, flush=True)
    for name, runs in results.items():
        print(f"{name}: best wall {min(r[0] for r in runs):.2f} s, best CPU "
              f"{min(r[1] for r in runs):.2f} s, peak RSS {max(r[2] for r in runs):.2f} GB")


if __name__ == "__main__":
    main()
