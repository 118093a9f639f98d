"""Ensembles of real models on real music: specs, presets, combination rules, sum-to-mix."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from stemsplit.core.errors import Cancelled, ModelError
from stemsplit.core.models.ensemble import spec as ensemble_spec
from stemsplit.core.models.ensemble.combine import combine
from stemsplit.core.models.registry import get_model, list_models, load_separator


def test_spec_grammar_and_one_sentence_errors():
    spec = ensemble_spec.parse("2stems*2+2stems-16kHz@max_spec")
    assert spec.members == ("2stems", "2stems-16kHz") and spec.weights == (2.0, 1.0)
    assert spec.method == "max_spec" and ensemble_spec.parse(spec.text()) == spec
    for bad, message in [("2stems", "two or more"), ("2stems+", "empty model name"),
                         ("2stems+2stems", "twice"), ("a*x+b", "not a number"),
                         ("a*0+b", "positive"), ("a+b@loudest", "unknown ensemble method")]:
        with pytest.raises(ModelError, match=message):
            ensemble_spec.parse(bad)
    with pytest.raises(ModelError, match="unknown model 'nope'"):
        get_model("2stems+nope")


def test_presets_become_models_in_the_list():
    ensemble_spec.save_preset("vox", ensemble_spec.parse("2stems+2stems-16kHz@min_spec"))
    info = get_model("vox")
    assert info.family == "ensemble" and info.stems == ("vocals", "accompaniment")
    assert "vox" in [m.name for m in list_models()]  # the window's model box lists it
    with pytest.raises(ModelError, match="cannot name an ensemble"):
        ensemble_spec.save_preset("a+b", ensemble_spec.parse("2stems+2stems-16kHz"))
    assert ensemble_spec.remove_preset("vox") and "vox" not in [m.name for m in list_models()]


def test_combination_rules():
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((2, 8000)).astype(np.float32) for _ in range(2))
    assert np.allclose(combine([a, b], (3.0, 1.0), "avg"), 0.75 * a + 0.25 * b, atol=1e-6)
    assert np.allclose(combine([a, a], (1.0, 1.0), "max_spec"), a, atol=1e-4)
    loud, quiet = combine([a, 0.5 * a], (1, 1), "max_spec"), combine([a, 0.5 * a], (1, 1),
                                                                      "min_spec")
    assert np.allclose(loud, a, atol=1e-4) and np.allclose(quiet, 0.5 * a, atol=1e-4)


@pytest.mark.slow
def test_ensemble_of_the_builtin_models_sums_to_the_mix(demo_audio):
    audio = demo_audio.samples[:, 2 * 44100: 5 * 44100]
    members = [load_separator(n, device="cpu").separate(audio, 44100)
               for n in ("2stems", "2stems-16kHz")]
    seen = []
    sep = load_separator("2stems*3+2stems-16kHz", device="cpu")
    stems = sep.separate(audio, 44100, on_progress=seen.append)
    assert stems.names == ["vocals", "accompaniment"]
    expected = 0.75 * members[0].stems["vocals"] + 0.25 * members[1].stems["vocals"]
    assert np.abs(stems.stems["vocals"] - expected).max() < 1e-5
    assert np.abs(stems.mix() - audio).max() < 1e-6
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) > 3
    assert seen[-1].masks is not None and seen[-1].masks.masks.shape[0] == 2
    cancel = threading.Event()
    run = load_separator("2stems+2stems-16kHz@max_spec", device="cpu").iter_separate(
        audio, 44100, cancel)
    next(run)
    cancel.set()
    with pytest.raises(Cancelled):
        list(run)


def test_missing_member_is_named():
    with pytest.raises(ModelError, match="4stems, a model of the ensemble .* not installed"):
        load_separator("2stems+4stems", device="cpu")


def test_cli_saves_lists_and_removes_a_preset():
    import io

    from stemsplit.cli.main import build_parser
    from stemsplit.cli.models import run_models

    def cli(*argv: str) -> tuple[int, str]:
        args = build_parser().parse_args(["models", *argv])
        out, err = io.StringIO(), io.StringIO()
        code = run_models(args, out, err)
        return code, out.getvalue() + err.getvalue()

    code, text = cli("ensemble", "save", "vox", "2stems+2stems-16kHz@min_spec")
    assert code == 0 and "saved vox: 2stems+2stems-16kHz@min_spec -> vocals, accompaniment" \
        in text
    code, text = cli("list")
    assert code == 0 and any(line.startswith("vox") and "ensemble" in line
                             for line in text.splitlines())
    code, text = cli("ensemble", "save", "bad", "2stems+nothing")
    assert code != 0 and "unknown model 'nothing'" in text
    assert cli("ensemble", "remove", "vox") == (0, "removed vox\n")
