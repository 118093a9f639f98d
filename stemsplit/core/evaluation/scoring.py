"""Scores of one track and their aggregation over tracks, as SiSEC/MUS and MDX report them.

``score_track`` follows museval's ``eval_mus_track``: when both ``vocals`` and
``accompaniment`` are scored, that pair is evaluated on its own (interference
measured between the two), and the remaining stems together; BSS Eval's track
score is the median over its 1 s windows. The MDX global SDR is computed per stem
on the whole track. Over tracks, ``aggregate`` gives the median (SiSEC's headline)
and the mean (MDX's) of each.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from stemsplit.core.evaluation.metrics import METRICS, bss_eval, global_sdr


@dataclass
class TrackResult:
    """Scores of one method on one track.

    Attributes:
        track: the track's name.
        method: what separated it (a model name, ``oracle irm``, ``estimates``...).
        scores: stem -> metric (``SDR``, ``ISR``, ``SIR``, ``SAR``, ``global SDR``) -> dB;
            NaN where every window was silent.
        framewise_sdr: stem -> SDR of each window (NaN: skipped), for plots over time.
        window_s: seconds per window.
        seconds: time the separation took (0 for files scored as given).
    """

    track: str
    method: str
    scores: dict[str, dict[str, float]]
    framewise_sdr: dict[str, list[float]] = field(default_factory=dict)
    window_s: float = 1.0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def score_track(track: str, method: str, references: dict[str, np.ndarray],
                estimates: dict[str, np.ndarray], sample_rate: int,
                window_s: float = 1.0) -> TrackResult:
    """BSS Eval v4 and global SDR of each stem in ``estimates``.

    Args:
        references, estimates: stem -> ``(C, N)`` float, same stems and shapes.
    """
    stems = [s for s in references if s in estimates]
    groups = _groups(stems)
    scores: dict[str, dict[str, float]] = {}
    frames: dict[str, list[float]] = {}
    for group, keep in groups:
        refs = np.stack([references[s] for s in group])
        ests = np.stack([estimates[s] for s in group])
        bss = bss_eval(refs, ests, sample_rate, window_s)
        medians = bss.median()
        for i, stem in enumerate(group):
            if stem not in keep:
                continue
            scores[stem] = {m: float(medians[m][i]) for m in METRICS}
            scores[stem]["global SDR"] = global_sdr(references[stem], estimates[stem])
            frames[stem] = [float(v) for v in bss.sdr[i]]
    ordered = {s: scores[s] for s in stems}
    return TrackResult(track, method, ordered, {s: frames[s] for s in stems}, window_s)


def _groups(stems: list[str]) -> list[tuple[list[str], set[str]]]:
    """museval's grouping: (stems evaluated together, stems whose result is kept)."""
    has_acc = "vocals" in stems and "accompaniment" in stems
    rest = [s for s in stems if s != "accompaniment"] if has_acc else list(stems)
    groups = []
    if len(rest) >= 2 or not has_acc:
        keep = set(rest) - ({"vocals"} if has_acc else set())
        if keep:
            groups.append((rest, keep))
    if has_acc:
        groups.append((["vocals", "accompaniment"], {"vocals", "accompaniment"}))
    return groups


@dataclass(frozen=True)
class Summary:
    """One method's scores over tracks: stem -> metric -> (median, mean) in dB."""

    method: str
    n_tracks: int
    median: dict[str, dict[str, float]]
    mean: dict[str, dict[str, float]]


def aggregate(results: list[TrackResult]) -> list[Summary]:
    """Per method (in first-seen order), the median and mean over tracks of each score."""
    methods = list(dict.fromkeys(r.method for r in results))
    out = []
    for method in methods:
        rows = [r for r in results if r.method == method]
        stems = list(dict.fromkeys(s for r in rows for s in r.scores))
        med: dict[str, dict[str, float]] = {}
        mean: dict[str, dict[str, float]] = {}
        for stem in stems:
            med[stem], mean[stem] = {}, {}
            for metric in (*METRICS, "global SDR"):
                values = np.array([r.scores[stem][metric] for r in rows if stem in r.scores])
                finite = values[~np.isnan(values)]
                med[stem][metric] = float(np.median(finite)) if finite.size else float("nan")
                mean[stem][metric] = float(np.mean(finite)) if finite.size else float("nan")
        out.append(Summary(method, len(rows), med, mean))
    return out
