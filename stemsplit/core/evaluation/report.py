"""Writing evaluation results: the terminal table, JSON, CSV and the PNG report.

Files are written atomically (a hidden partial file renamed into place), so an
interrupted run never leaves half a report; existing files are replaced only when
the caller says so (the CLI asks for ``--overwrite``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

import numpy as np

from stemsplit.core.audio.partials import temp_file
from stemsplit.core.evaluation.metrics import METRICS
from stemsplit.core.evaluation.scoring import Summary, TrackResult

COLUMNS = (*METRICS, "global SDR")
MAX_TRACK_PLOTS = 8  # tracks drawn over time in the PNG (the worst ones)


def _fmt(x: float) -> str:
    return "   n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:6.2f}"


def format_table(summaries: list[Summary]) -> str:
    """Median over tracks of each track's BSS Eval scores, and the mean global SDR (MDX)."""
    head = f"{'method':24} {'stem':14} " + " ".join(f"{c:>6}" for c in METRICS) + \
        "  global SDR (mean)  tracks"
    lines = [head, "-" * len(head)]
    for s in summaries:
        for stem in s.median:
            cells = " ".join(_fmt(s.median[stem][m]) for m in METRICS)
            lines.append(f"{s.method[:24]:24} {stem[:14]:14} {cells}  "
                         f"{_fmt(s.mean[stem]['global SDR']):>17}  {s.n_tracks:6d}")
    lines.append("BSS Eval v4 (museval): median over 1 s windows per track, then over tracks; "
                 "global SDR as in the MDX challenge.")
    return "\n".join(lines)


def to_json(results: list[TrackResult], summaries: list[Summary]) -> str:
    """Every track's scores, framewise SDR and the summaries; NaN written as null."""
    data = {
        "metrics": "BSS Eval v4 (median over 1 s windows) and MDX global SDR, in dB",
        "tracks": [r.to_dict() for r in results],
        "summary": [{"method": s.method, "tracks": s.n_tracks, "median": s.median,
                     "mean": s.mean} for s in summaries],
    }
    return json.dumps(_nan_to_none(data), indent=1, allow_nan=False)


def to_csv(results: list[TrackResult]) -> str:
    """One row per track, method and stem."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["track", "method", "stem", *COLUMNS, "seconds"])
    for r in results:
        for stem, scores in r.scores.items():
            w.writerow([r.track, r.method, stem,
                        *("" if math.isnan(scores[c]) else f"{scores[c]:.4f}" for c in COLUMNS),
                        f"{r.seconds:.2f}"])
    return buf.getvalue()


def _nan_to_none(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else (1e308 if x > 0 else -1e308)
    if isinstance(x, dict):
        return {k: _nan_to_none(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_nan_to_none(v) for v in x]
    return x


def write_atomically(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a hidden partial file in the same folder."""
    path = Path(path)
    tmp = temp_file(path.parent if str(path.parent) else Path("."), path.name)
    try:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def plot_report(results: list[TrackResult]) -> bytes:
    """A PNG: per-stem box plots of SDR over tracks (one colour per method), then for the
    ``MAX_TRACK_PLOTS`` worst tracks each stem's SDR over time, so a failing passage shows."""
    import matplotlib

    matplotlib.use("Agg")  # no window, no display needed
    import matplotlib.pyplot as plt

    methods = list(dict.fromkeys(r.method for r in results))
    stems = list(dict.fromkeys(s for r in results for s in r.scores))
    tracks = _worst_tracks(results)[:MAX_TRACK_PLOTS]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig = plt.figure(figsize=(max(8.0, 2.6 * len(stems)), 3.4 + 2.4 * len(tracks)))
    grid = fig.add_gridspec(1 + len(tracks), len(stems), height_ratios=[1.4] + [1] * len(tracks))
    ax = fig.add_subplot(grid[0, :])
    width = 0.8 / len(methods)
    for mi, method in enumerate(methods):
        data = []
        for stem in stems:
            vals = [r.scores[stem]["SDR"] for r in results
                    if r.method == method and stem in r.scores]
            data.append([v for v in vals if math.isfinite(v)] or [np.nan])
        pos = np.arange(len(stems)) + (mi - (len(methods) - 1) / 2) * width
        boxes = ax.boxplot(data, positions=pos, widths=width * 0.9, patch_artist=True,
                           manage_ticks=False)
        for patch in boxes["boxes"]:
            patch.set_facecolor(colours[mi % len(colours)])
            patch.set_alpha(0.6)
        ax.plot([], [], color=colours[mi % len(colours)], linewidth=6, alpha=0.6, label=method)
    ax.set_xticks(range(len(stems)), stems)
    ax.set_ylabel("SDR (dB)")
    n_tracks = len({r.track for r in results})
    ax.set_title(f"SDR per track (median over 1 s windows), {n_tracks} track(s)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    for ti, track in enumerate(tracks):
        for si, stem in enumerate(stems):
            ax = fig.add_subplot(grid[1 + ti, si])
            for mi, method in enumerate(methods):
                for r in results:
                    if r.track == track and r.method == method and stem in r.framewise_sdr:
                        frames = np.array(r.framewise_sdr[stem], dtype=float)
                        t = (np.arange(len(frames)) + 0.5) * r.window_s
                        ax.plot(t, frames, color=colours[mi % len(colours)], linewidth=1)
            ax.set_title(f"{track[:40]}: {stem}" if si == 0 else stem, fontsize=8, loc="left")
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
            if si == 0:
                ax.set_ylabel("SDR (dB)", fontsize=8)
            if ti == len(tracks) - 1:
                ax.set_xlabel("time (s)", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _worst_tracks(results: list[TrackResult]) -> list[str]:
    """Track names, lowest mean SDR first (the ones worth looking at over time)."""
    sdr: dict[str, list[float]] = {}
    for r in results:
        sdr.setdefault(r.track, []).extend(
            v["SDR"] for v in r.scores.values() if math.isfinite(v["SDR"]))
    return sorted(sdr, key=lambda t: float(np.mean(sdr[t])) if sdr[t] else -math.inf)
