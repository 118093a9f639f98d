"""How long a mask edit takes on a 4-minute song: median latency per region size.

The demo song is looped to the given length and separated once with the real
built-in model on the CPU; then rectangle and brush edits 1 s, 5 s and 30 s wide
(and lassos) are applied at different places of the song (each on the stems as the previous
edits left them, as in the window), and undo / redo / the share masks of the
changed span (what the window redraws) are timed too. Figures are medians of
``--repeats`` runs on ``--threads`` torch threads.

    .venv/bin/python benchmarks/mask_edit_speed.py [--minutes 4] [--repeats 7]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WIDTHS_S = (1.0, 5.0, 30.0)


def looped_song(minutes: float) -> tuple[np.ndarray, int]:
    from stemsplit.core.audio.read import load_audio
    from stemsplit.core.models.spleeter.weights import demo_song_path

    song = load_audio(demo_song_path())
    n = int(minutes * 60 * song.sample_rate)
    return np.tile(song.samples, (1, -(-n // song.frames)))[:, :n].copy(), song.sample_rate


def regions(kind: str, width: float, start: float):
    """A rectangle over 200 Hz-8 kHz, a wavy brush stroke (a point every 10 ms), or a
    free-hand lasso round an ellipse over the same box (a mouse point every 5 ms)."""
    from stemsplit.core.editing.editor import Region

    if kind == "rectangle":
        return Region.rect(start, start + width, 200, 8000, feather=0.2)
    if kind == "lasso":
        a = np.linspace(0, 2 * np.pi, max(8, int(width / 0.005)))
        t = start + width / 2 * (1 + np.cos(a))
        f = 1265 * 2 ** (2.66 * np.sin(a))  # 200 Hz .. 8 kHz on the log view
        return Region.lasso(zip(t, f, strict=True), feather=0.3, log_freq=True)
    t = start + np.arange(0, width, 0.01)
    f = 1000 * 2 ** np.sin(t * 3)          # swings over two octaves
    return Region.brush(zip(t, f, strict=True), 0.1, radius_oct=0.3, feather=0.3)


def median_ms(times: list[float]) -> float:
    return float(np.median(times) * 1e3)


def run(minutes: float, repeats: int) -> list[tuple[str, float, dict[str, float]]]:
    from stemsplit.core.api import separate
    from stemsplit.core.editing.editor import Edit, MaskEditor

    mix, rate = looped_song(minutes)
    t = time.perf_counter()
    stems = separate(mix, rate, device="cpu")
    print(f"separated {minutes:g} min in {time.perf_counter() - t:.1f} s", flush=True)
    editor = MaskEditor(mix, stems)
    editor.apply(Edit(regions("rectangle", 1.0, 1.0), "assign", "vocals"))  # warm-up
    rng = np.random.default_rng(0)
    results = []
    for kind in ("rectangle", "brush", "lasso"):
        for width in WIDTHS_S:
            times: dict[str, list[float]] = {"apply": [], "undo": [], "redo": [], "masks": []}
            for i in range(repeats):
                start = float(rng.uniform(0, minutes * 60 - width))
                op = ("assign", "remove", "scale")[i % 3]
                edit = Edit(regions(kind, width, start), op, "vocals",
                            0.5 if op == "scale" else 1.0)
                t0 = time.perf_counter()
                a, b = editor.apply(edit)
                t1 = time.perf_counter()
                list(editor.mask_blocks(a, b))
                t2 = time.perf_counter()
                editor.undo()
                t3 = time.perf_counter()
                editor.redo()
                t4 = time.perf_counter()
                for key, dt in (("apply", t1 - t0), ("masks", t2 - t1), ("undo", t3 - t2),
                                ("redo", t4 - t3)):
                    times[key].append(dt)
            row = {k: median_ms(v) for k, v in times.items()}
            results.append((kind, width, row))
            print(f"{kind:9s} {width:4.0f} s: apply {row['apply']:7.1f} ms  "
                  f"share masks {row['masks']:7.1f} ms  undo {row['undo']:6.1f} ms  "
                  f"redo {row['redo']:6.1f} ms", flush=True)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    print(f"mask edit latency, median of {args.repeats}, {args.minutes:g}-min song, "
          f"{args.threads} torch threads", flush=True)
    run(args.minutes, args.repeats)


if __name__ == "__main__":
    main()
