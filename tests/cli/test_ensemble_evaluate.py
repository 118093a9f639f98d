"""`stemsplit evaluate` on real music: an ensemble is not worse than its best member.

The MUSDB18 excerpt (7 s, stempeg's), BSS Eval v4 medians. The members installable
offline are the built-in 2stems and its 16 kHz configuration (the classic separators
share no stem with them, so they cannot join an ensemble of these). The two members
are close (their vocals differ by 0.005 dB), so an average cannot gain much; what
must hold is that combining never costs more than rounding: within 0.01 dB of the
better member for every stem, by the window median and by the global SDR.
"""

from __future__ import annotations

import json

import pytest

from stemsplit.cli.main import main

MEMBERS = ("2stems", "2stems-16kHz")
ENSEMBLES = ("2stems+2stems-16kHz", "2stems+2stems-16kHz@min_spec")
TOLERANCE_DB = 0.01


@pytest.mark.slow
def test_ensemble_is_not_worse_than_its_best_member(musdb_path, tmp_path, capsys):
    report = tmp_path / "eval.json"
    argv = ["evaluate", str(musdb_path), "--device", "cpu", "--quiet", "--json", str(report)]
    for name in MEMBERS + ENSEMBLES:
        argv += ["--model", name]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert all(name[:24] in table for name in MEMBERS + ENSEMBLES)  # the column is 24 wide
    medians = {row["method"]: row["median"] for row in json.loads(report.read_text())["summary"]}
    for stem in ("vocals", "accompaniment"):
        for metric in ("SDR", "global SDR"):
            members = [medians[m][stem][metric] for m in MEMBERS]
            assert max(members) - min(members) < 0.1  # both members really separated
            for ensemble in ENSEMBLES:
                got = medians[ensemble][stem][metric]
                assert got >= max(members) - TOLERANCE_DB, (ensemble, stem, metric, got,
                                                            members)
