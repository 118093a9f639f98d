"""Does the window stay responsive on a long song? Event-loop stalls, view speed, cancel time.

Opens the real window (offscreen Qt), loads the demo song looped to N minutes,
then measures, with a 5 ms heartbeat timer on the GUI thread:

- the longest gaps of the event loop while the song loads, while it separates
  (masks arriving chunk by chunk) and while the user zooms and pans;
- how long one zoom / pan step takes to redraw on the long song;
- how long Cancel takes to stop a running separation;
- mask edits (issue 11): the gaps while rectangle edits 1 s, 5 s and 30 s wide
  and their undos are applied, and how long each takes from the mouse release
  until it is drawn and audible (the editor's ``changed`` signal);
- with ``--play``, the stream's underflows while the song plays during the separation;
- Save Project, then opening that project and Save As at once (issue 20.7 / 23.7);
- opening the export dialog (issue 20.7): time until it is on screen, and the gaps.

A gap is the time between two heartbeats minus the 5 ms interval: what a user
would feel as a frozen window. Target (issue 3): no gap above ~50 ms from our code.

    .venv/bin/python benchmarks/responsiveness.py [--minutes 10]   # 30: issue 23.7
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("STEMSPLIT_HOME", tempfile.mkdtemp(prefix="stemsplit-bench-"))

BEAT_MS = 5


class Heartbeat:
    """Records the gaps between ticks of a QTimer on the GUI thread."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self.last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(BEAT_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(max(0.0, now - self.last - BEAT_MS / 1000))
        self.last = now

    def start(self) -> None:
        self.gaps = []
        self.last = time.perf_counter()
        self.timer.start()

    def stop(self) -> np.ndarray:
        self.timer.stop()
        return np.array(self.gaps) * 1000


def run_until(app, condition, timeout_s: float) -> float:
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout_s:
            raise TimeoutError("timed out")
        app.processEvents()
        time.sleep(0.001)
    return time.perf_counter() - start


def report(name: str, gaps_ms: np.ndarray) -> None:
    if len(gaps_ms) == 0:
        print(f"{name:28s} (no ticks)")
        return
    over = int((gaps_ms > 50).sum())
    print(f"{name:28s} ticks {len(gaps_ms):6d}  p99 {np.percentile(gaps_ms, 99):6.1f} ms  "
          f"max {gaps_ms.max():6.1f} ms  gaps > 50 ms: {over}")


def measure_edits(app, window, beat: Heartbeat) -> None:
    """Edits of growing width, each then undone: GUI-thread gaps and time until heard."""
    from stemsplit.core.editing.edits import Edit, Region

    run_until(app, lambda: window.edits.editor is not None
              and not window.edits.applier.worker.busy, 120)
    applier, duration = window.edits.applier, window.session.display.duration_s
    done: list[float] = []
    applier.changed.connect(lambda: done.append(time.perf_counter()))
    latencies = {}
    for width in (1.0, 5.0, 30.0):
        beat.start()
        for start in np.linspace(10.0, duration - width - 10.0, 4):
            for step in ("edit", "undo"):
                n, t = len(done), time.perf_counter()
                if step == "edit":
                    applier.apply(Edit(Region.rect(start, start + width, 300.0, 6000.0),
                                       "assign", "vocals"))
                else:
                    applier.undo()
                run_until(app, lambda n=n: len(done) > n, 60)
                latencies.setdefault((width, step), []).append(done[n] - t)
        report(f"edits+undos {width:g} s wide", beat.stop())
    for (width, step), values in latencies.items():
        ms = np.array(values) * 1000
        print(f"{f'{step} {width:g} s wide, heard after':28s} median {np.median(ms):6.1f} ms  "
              f"max {ms.max():6.1f} ms")


def measure_save(app, window, beat: Heartbeat, folder: Path) -> None:
    """Save Project (issue 20.7 / 23.7), then open it and Save As at once (the mask
    rebuild of the opened project and the writing must both stay off the GUI thread)."""
    project = folder / "song.stemsplit"
    beat.start()
    t = time.perf_counter()
    assert window.projects.save_to(project)
    report(f"save project ({time.perf_counter() - t:.1f} s)", beat.stop())
    window.projects.set_dirty(False)
    applier = window.edits.applier
    ready: list = []
    applier.ready.connect(lambda: ready.append(1))
    beat.start()
    t = time.perf_counter()
    window.open_path(project)
    run_until(app, lambda: window.session.audio is not None and not window.session.loading
              and window.session.stems is not None, 600)
    opened = time.perf_counter() - t
    assert window.projects.save_to(folder / "again.stemsplit")
    run_until(app, lambda: bool(ready) and not applier.worker.busy, 600)
    report(f"open project ({opened:.1f} s) + save as ({time.perf_counter() - t:.1f} s)",
           beat.stop())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="song length (issue 23.7 asks for 30)")
    parser.add_argument("--skip-save", action="store_true", help="no save / reopen phases")
    parser.add_argument("--play", action="store_true",
                        help="play (into a PulseAudio null sink) while separating; count "
                        "the stream's underflows")
    args = parser.parse_args()

    from stemsplit.core.audio.read import load_audio
    from stemsplit.core.models.spleeter.weights import demo_song_path
    from stemsplit.gui.app import create_app
    from stemsplit.gui.main_window import MainWindow

    song = load_audio(demo_song_path())
    n = int(args.minutes * 60 * song.sample_rate)
    looped = np.tile(song.samples, (1, -(-n // song.frames)))[:, :n]
    folder = Path(tempfile.mkdtemp(prefix="stemsplit-resp-"))
    path = folder / f"song-{args.minutes:g}min.wav"
    sf.write(path, looped.T, song.sample_rate, subtype="PCM_16")
    del looped

    if args.play:  # a private PulseAudio null sink as the output device
        import contextlib

        from tests.playback.pulse_sink import NullSink, use_sink

        sink = NullSink()
        sink.start()
        stack = contextlib.ExitStack()
        stack.callback(sink.cleanup)
        stack.enter_context(use_sink(sink))
    app = create_app()
    window = MainWindow()
    window.resize(1440, 900)
    window.show()
    beat = Heartbeat()
    run_until(app, lambda: window.session.engine_ready, 120)
    run_until(app, lambda: not window.session.busy, 60)
    time.sleep(2.0)  # let the model warm-up thread finish; it is measured on its own below
    app.processEvents()

    print(f"song: {args.minutes:g} min, window 1440x900, {os.cpu_count()} CPUs")
    beat.start()
    window.open_path(path)
    load_s = run_until(app, lambda: window.session.audio is not None
                       and not window.session.loading, 300)
    report(f"load ({load_s:.1f} s)", beat.stop())

    # Zoom and pan: the cost of one step, and the loop's gaps while stepping.
    duration = window.session.display.duration_s
    beat.start()
    steps = []
    for width in (duration, duration / 4, 60.0, 10.0):
        for start in np.linspace(0, duration - width, 8):
            t = time.perf_counter()
            window.view.set_x_range(float(start), float(start + width))
            window.view.viewport().repaint()  # draw now, as a real frame would
            steps.append(time.perf_counter() - t)
            app.processEvents()
    gaps = beat.stop()
    steps_ms = np.array(steps) * 1000
    print(f"{'zoom/pan step redraw':28s} median {np.median(steps_ms):6.1f} ms  "
          f"max {steps_ms.max():6.1f} ms  ({len(steps)} steps)")
    report("zoom/pan", gaps)
    window.view.fit()

    player = window.playback.player
    if args.play:  # issue 20.7: ALSA underruns while playing during a separation
        assert player.play(), player.error
        time.sleep(1.0)
        idle = player._stream.underflows
        t = time.perf_counter()
        run_until(app, lambda: time.perf_counter() - t > 5.0, 10)
        idle = player._stream.underflows - idle
        before = player._stream.underflows
    beat.start()
    window.separate()
    run_s = run_until(app, lambda: window.session.stems is not None
                      or not window.session.separating, 3600)
    report(f"separate ({run_s:.1f} s)", beat.stop())
    if args.play:
        print(f"{'underflows while playing':28s} {idle} in 5 s idle, "
              f"{player._stream.underflows - before} in the {run_s:.1f} s separation "
              f"(block {player._blocksize}, latency "
              f"{player._stream.latency_frames / player._stream.rate * 1000:.0f} ms)")
        player.pause()
    if window.session.stems is None:
        print(f"separation failed: {window.banner.text()}")
        return 1

    measure_edits(app, window, beat)
    if not args.skip_save:
        measure_save(app, window, beat, folder)

    # Opening the export dialog (issue 20.7): the stems' peak scan is off the GUI thread.
    beat.start()
    t = time.perf_counter()
    window.export_stems()
    shown_ms = (time.perf_counter() - t) * 1000
    dialog = window.export_dialog
    run_until(app, lambda: dialog.peak_thread is None, 60)
    print(f"{'export dialog on screen':28s} after {shown_ms:6.1f} ms "
          f"(peak {dialog.peak:.3f} known after {(time.perf_counter() - t) * 1000:.0f} ms)")
    report("export dialog opening", beat.stop())
    dialog.reject()

    window.separate()
    run_until(app, lambda: window.session.masks is not None
              and window.session.masks.covered().sum() > 0, 120)
    for _ in range(200):  # let a few chunks run
        app.processEvents()
        time.sleep(0.01)
    window.cancel()
    cancel_s = run_until(app, lambda: not window.session.separating, 30)
    print(f"{'cancel':28s} stopped after {cancel_s * 1000:.0f} ms")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
