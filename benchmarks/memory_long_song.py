"""Peak memory of the window on a long song (issue 23, item 6): load, separate, edit, save,
reopen the project, then switch to a short song (is the memory given back?).

Runs the real window offscreen with the built-in 2-stem model on the CPU. The song is
the demo looped to N minutes, stereo 44.1 kHz, written as a 32-bit float WAV. RSS is
sampled every 20 ms in a thread; each phase prints its own peak and the RSS after it,
and the end prints the process's peak (``ru_maxrss``) against the goal.

Goal: at most 3 GB peak for 30 minutes (the mix and two stems in float32 alone are
1.9 GB at that length). Measured 2026-12-04 for 30 minutes: 2.95 GB with one song
open, 5.0 GB while the project was reopened over the open song; the open song now
waits on disk meanwhile: 3058 MB, the run 2.99 GiB (``--keep-in-ram``: as before;
benchmarks/README.md).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/memory_long_song.py [--minutes 30]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("STEMSPLIT_HOME", tempfile.mkdtemp(prefix="stemsplit-bench-"))

GOAL_GB = 3.0


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Sampler:
    """The highest RSS seen since the last ``phase`` call."""

    def __init__(self) -> None:
        self.peak = 0.0
        self.peaks: dict[str, float] = {}  # phase -> its peak (MB)
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def phase(self, name: str, started: float) -> None:
        now = rss_mb()
        peak = max(self.peak, now)
        self.peaks[name] = peak
        print(f"{name:<28} {time.perf_counter() - started:7.1f} s   peak {peak:7.0f} MB   "
              f"after {now:7.0f} MB", flush=True)
        self.peak = now


def wait(app, cond, timeout: float = 7200.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise SystemExit("timed out")
        app.processEvents()
        time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--keep-in-ram", action="store_true",
                        help="open the project without first moving the open song to disk "
                             "(as before; for comparison)")
    args = parser.parse_args()

    from stemsplit.core.audio.read import load_audio
    from stemsplit.core.models.spleeter.weights import demo_song_path

    work = Path(tempfile.mkdtemp(prefix="stemsplit-memory-"))
    demo = load_audio(demo_song_path())
    n = int(args.minutes * 60 * demo.sample_rate)
    song = work / "long song.wav"
    with sf.SoundFile(song, "w", demo.sample_rate, 2, subtype="FLOAT") as f:
        written = 0
        while written < n:
            block = demo.samples[:, : n - written]
            f.write(block.T)
            written += block.shape[1]
    short = work / "short.wav"
    sf.write(short, demo.samples.T, demo.sample_rate, subtype="FLOAT")
    del demo
    print(f"{args.minutes:g} min stereo 44.1 kHz: {song.stat().st_size / 1e6:.0f} MB WAV; "
          f"mix + 2 stems in float32 = {3 * 2 * n * 4 / 1e9:.2f} GB", flush=True)

    from stemsplit.core.editing.editor import Edit, Region
    from stemsplit.gui.app import create_app
    from stemsplit.gui.main_window import MainWindow

    app = create_app()
    sampler = Sampler()
    t = time.perf_counter()
    w = MainWindow()
    w.show()
    s, applier = w.session, w.edits.applier
    if args.keep_in_ram:
        w.projects.page_out_min = 1 << 62
    wait(app, lambda: s.engine_ready)
    sampler.phase("window + engine", t)

    t = time.perf_counter()
    w.open_path(song)
    wait(app, lambda: s.audio is not None and not s.loading)
    sampler.phase("load the song", t)

    t = time.perf_counter()
    w.separate()
    wait(app, lambda: s.stems is not None and not s.separating and applier.ready_now
         and not applier.worker.busy)
    app.processEvents()
    sampler.phase("separate", t)

    t = time.perf_counter()
    done: list = []
    applier.changed.connect(lambda: done.append(1))
    applier.apply(Edit(Region.rect(60.0, 90.0, 500, 5000), "assign", "vocals"))
    wait(app, lambda: done)
    sampler.phase("a 30 s rectangle edit", t)

    t = time.perf_counter()
    project = work / "long song.stemsplit"
    assert w.projects.save_to(project)
    w.recovery.flush(600)
    sampler.phase("save the project", t)

    t = time.perf_counter()
    w.projects.set_dirty(False)
    ready: list = []
    applier.ready.connect(lambda: ready.append(1))
    w.open_path(project)
    wait(app, lambda: ready and not applier.worker.busy)
    app.processEvents()
    sampler.phase("open the project", t)

    t = time.perf_counter()
    w.projects.set_dirty(False)
    w.open_path(short)
    wait(app, lambda: s.audio is not None and s.audio.path == short and not s.loading)
    w.recovery.flush(600)
    for _ in range(50):
        app.processEvents()
        time.sleep(0.01)
    import gc

    gc.collect()
    sampler.phase("switch to a 10 s song", t)

    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak RSS {peak_gb:.2f} GB for {args.minutes:g} min (goal {GOAL_GB:g} GB for 30 min;"
          f" {peak_gb / GOAL_GB * 30 / args.minutes:.2f}x the goal, scaled to 30 min)")
    one = max(p for name, p in sampler.peaks.items() if name != "open the project")
    print(f"with one song open (every phase but reopening): {one / 1024:.2f} GB; "
          f"load average {os.getloadavg()[0]:.1f}")
    w.projects.set_dirty(False)
    w.close()


if __name__ == "__main__":
    main()
