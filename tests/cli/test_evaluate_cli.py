"""`stemsplit evaluate` end to end on the real MUSDB18 excerpt laid out as MUSDB18-HQ."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from stemsplit.cli.main import main

EXIT_OK, EXIT_FAILED = 0, 2


def write(path, audio, rate=44100):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(audio).T, rate, subtype="FLOAT")


@pytest.fixture(scope="module")
def hq_folder(tmp_path_factory, musdb_track):
    """3 s of the excerpt as <root>/test/Falcon/{mixture,drums,bass,other,vocals}.wav."""
    root = tmp_path_factory.mktemp("hq")
    short = musdb_track.excerpt(1.0, 3.0)
    write(root / "test" / "Falcon" / "mixture.wav", short.mixture)
    for s in ("drums", "bass", "other", "vocals"):
        write(root / "test" / "Falcon" / f"{s}.wav", short.references[s])
    return root, short


@pytest.mark.slow
def test_model_oracle_wiener_and_estimates_are_scored_and_reported(hq_folder, tmp_path, capsys,
                                                                   separator):
    root, short = hq_folder
    out = tmp_path / "r"
    rc = main(["evaluate", str(root), "--oracle", "irm", "--wiener", "0,1", "--device", "cpu",
               "--json", f"{out}.json", "--csv", f"{out}.csv", "--report", f"{out}.png"])
    assert rc == EXIT_OK
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    table = captured.out
    for label in ("2stems ", "2stems + wiener 1", "oracle irm"):
        assert label in table
    data = json.loads((tmp_path / "r.json").read_text())
    by = {(t["method"]): t for t in data["tracks"]}
    assert set(by) == {"2stems", "2stems + wiener 1", "oracle irm"}
    model, oracle = by["2stems"]["scores"], by["oracle irm"]["scores"]
    assert list(model) == ["vocals", "accompaniment"]
    assert oracle["vocals"]["SDR"] > model["vocals"]["SDR"] + 2
    for stem in model:
        assert oracle[stem]["SDR"] > model[stem]["SDR"]
        assert len(by["2stems"]["framewise_sdr"][stem]) == 3
    assert by["2stems + wiener 1"]["scores"]["vocals"]["SDR"] != model["vocals"]["SDR"]
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert rows[0].startswith("track,method,stem,SDR,ISR,SIR,SAR,global SDR")
    assert len(rows) == 1 + 3 * 2
    assert rows[1].startswith("Falcon,2stems,vocals,")
    assert float(rows[1].split(",")[3]) == pytest.approx(model["vocals"]["SDR"], abs=1e-4)
    png = (tmp_path / "r.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000

    # The same stems written to files and scored with --estimates score the same.
    stems = separator.separate(short.mixture, short.sample_rate)
    for s, audio in stems.stems.items():
        write(tmp_path / "est" / "Falcon" / f"{s}.wav", audio)
    rc = main(["evaluate", str(root), "--estimates", str(tmp_path / "est"),
               "--json", str(tmp_path / "e.json")])
    assert rc == EXIT_OK
    est = json.loads((tmp_path / "e.json").read_text())["tracks"][0]
    assert est["method"] == "estimates"
    for stem in model:
        for metric in ("SDR", "ISR", "SIR", "SAR", "global SDR"):
            assert est["scores"][stem][metric] == pytest.approx(model[stem][metric], abs=1e-3)


def test_bad_data_and_outputs_get_one_clear_sentence(tmp_path, hq_folder, capsys):
    _, short = hq_folder
    bad = tmp_path / "bad" / "Song"
    write(bad / "mix.wav", short.mixture)
    write(bad / "vocals.wav", short.references["vocals"][:, :-441])
    rc = main(["evaluate", str(tmp_path / "bad"), "--estimates", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert rc == EXIT_FAILED
    assert "[1/1] Song: Song: vocals.wav lasts 2.990 s but mix.wav 3.000 s" in err
    assert "no track could be scored" in err and "Traceback" not in err

    rc = main(["evaluate", str(tmp_path / "nothing-here")])
    assert rc == EXIT_FAILED
    assert "nothing-here: no such file or folder" in capsys.readouterr().err

    taken = tmp_path / "taken.json"
    taken.write_text("mine")
    rc = main(["evaluate", str(tmp_path / "bad"), "--json", str(taken)])
    assert rc == EXIT_FAILED
    assert "taken.json exists; pass --overwrite to replace it" in capsys.readouterr().err
    assert taken.read_text() == "mine"

    assert main(["evaluate", str(tmp_path / "bad"), "--wiener", "lots"]) == EXIT_FAILED
    assert "--wiener takes whole numbers" in capsys.readouterr().err
