"""Cost of the evaluation tools and the Wiener post-filter, on real music.

Prints (2 CPU threads):
- the Wiener post-filter (``engine.postfilter``) per minute of stereo audio, for 1 and 2
  EM iterations, as a real-time factor and its share of a separation's time;
- BSS Eval v4 (``core.evaluation.metrics``) against museval on the MUSDB18 excerpt
  (7 s; vocals/accompaniment and four stems), with the largest difference of the
  track scores.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/evaluation_speed.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stemsplit.core.engine.postfilter import refine_stems  # noqa: E402
from stemsplit.core.evaluation.datasets import find_tracks  # noqa: E402
from stemsplit.core.evaluation.metrics import METRICS, bss_eval  # noqa: E402
from stemsplit.core.models.registry import load_separator  # noqa: E402
from stemsplit.core.models.spleeter.weights import demo_song_path  # noqa: E402


def wiener_cost() -> None:
    from stemsplit.core.audio.read import load_audio

    demo = load_audio(demo_song_path())
    minute = np.tile(demo.samples, (1, int(np.ceil(60 / demo.duration_s))))[:, : 60 * 44100]
    sep = load_separator(device="cpu")
    t = time.perf_counter()
    stems = sep.separate(minute, 44100)
    t_sep = time.perf_counter() - t
    print(f"separation (2stems), 60 s stereo: {t_sep:.1f} s ({60 / t_sep:.0f}x real time)")
    for n in (1, 2):
        t = time.perf_counter()
        refine_stems(stems.stems, minute, n, 44100)
        dt = time.perf_counter() - t
        print(f"Wiener post-filter, {n} iteration(s): {dt:.1f} s per minute "
              f"({60 / dt:.0f}x real time, +{100 * dt / t_sep:.0f}% on the separation)")


def bss_cost() -> None:
    import museval
    import stempeg

    track = find_tracks(stempeg.example_stem_path())[0].load()
    sep = load_separator(device="cpu")
    est = sep.separate(track.mixture, track.sample_rate).stems
    cases = {
        "vocals/accompaniment (model)": (("vocals", "accompaniment"), est),
        # Leakage between stems plus a little of the mixture: an artifact-free mix of the
        # references would put SAR near 100 dB, where both tools only see rounding.
        "four stems (refs + leakage)": (("drums", "bass", "other", "vocals"), None),
    }
    for label, (names, ests) in cases.items():
        refs = np.stack([track.references[s] for s in names])
        if ests is None:
            e = 0.8 * refs + 0.15 * np.roll(refs, 1, axis=0) + 0.01 * track.mixture[None]
        else:
            e = np.stack([ests[s] for s in names])
        t = time.perf_counter()
        ours = bss_eval(refs, e, track.sample_rate).median()
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        theirs = museval.evaluate(refs.transpose(0, 2, 1), e.transpose(0, 2, 1))
        t_theirs = time.perf_counter() - t
        diffs = {m: float(np.max(np.abs(ours[m] - np.nanmedian(v, axis=1))))
                 for m, v in zip(METRICS, theirs, strict=True)}
        print(f"BSS Eval {label}: stemsplit {t_ours:.1f} s, museval {t_theirs:.1f} s, "
              "largest track-score difference " +
              ", ".join(f"{m} {d:.4f} dB" for m, d in diffs.items()))


if __name__ == "__main__":
    torch.set_num_threads(2)
    if "--bss-only" not in sys.argv:
        wiener_cost()
    bss_cost()
