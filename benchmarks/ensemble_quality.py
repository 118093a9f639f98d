"""Is an ensemble at least as good as its best member? SDR on the MUSDB18 excerpt.

Members are the models installable here without a network: the built-in 2stems
and Spleeter's 2stems-16kHz configuration of the same weights (HT-Demucs and
the RoFormers cannot be downloaded on this machine; the classic separators share
no stem with them). Prints SDR (whole excerpt, dB) of vocals and accompaniment
for each member and each ensemble method. The BSS Eval medians of the same
comparison come from ``stemsplit evaluate`` (README, and
``tests/cli/test_ensemble_evaluate.py``, which holds the ensembles to within
0.01 dB of the better member).

    .venv/bin/python benchmarks/ensemble_quality.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.musdb import load_musdb_excerpt, sdr  # noqa: E402
from stemsplit.core.models.registry import load_separator  # noqa: E402

MEMBERS = ("2stems", "2stems-16kHz")
ENSEMBLES = ("2stems+2stems-16kHz", "2stems+2stems-16kHz@max_spec",
             "2stems+2stems-16kHz@min_spec")


def run() -> list[dict]:
    truth, rate = load_musdb_excerpt()
    rows = []
    for name in MEMBERS + ENSEMBLES:
        stems = load_separator(name, device="cpu").separate(truth["mixture"], rate)
        rows.append({"model": name,
                     "sdr_vocals": sdr(truth["vocals"], stems.stems["vocals"]),
                     "sdr_accompaniment": sdr(truth["accompaniment"],
                                              stems.stems["accompaniment"])})
    return rows


def main() -> None:
    rows = run()
    print(f"{'model':32} {'vocals dB':>10} {'accomp. dB':>10}")
    for r in rows:
        print(f"{r['model']:32} {r['sdr_vocals']:10.3f} {r['sdr_accompaniment']:10.3f}")
    best = {k: max(r[k] for r in rows[: len(MEMBERS)]) for k in ("sdr_vocals",
                                                                 "sdr_accompaniment")}
    for r in rows[len(MEMBERS):]:
        print(f"{r['model']:32} vs best member: vocals {r['sdr_vocals'] - best['sdr_vocals']:+.3f}"
              f" dB, accompaniment {r['sdr_accompaniment'] - best['sdr_accompaniment']:+.3f} dB")


if __name__ == "__main__":
    main()
