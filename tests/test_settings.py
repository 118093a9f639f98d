"""The settings store survives whatever is in its file: bad values fall back per key."""

from __future__ import annotations

import json
import math

import pytest

from stemsplit import settings
from stemsplit.settings import Settings

# Every key the app reads, with values that are wrong for it. Each must read as the default.
BAD_VALUES = {
    "gui.geometry": ["01d9d0cbé00", "xyz", "abc", 42, None, ["01d9"], "00" * 5000],
    "gui.model": [7, "", "   ", ["2stems"], {"name": "2stems"}, "x" * 1000, "a\x00b"],
    "gui.device": ["gpu", "CPU", 1, None, ["cpu"], True],
    "gui.precision": ["BF16", "fp8", "float32", 16, None, ["bf16"]],
    "gui.scale": ["logarithmic", 0, None, ["log"]],
    "gui.opacity": [math.nan, math.inf, -math.inf, -0.1, 1.5, "0.5", True, None, [0.5]],
    "gui.recent_files": ["/a/song.wav", 5, {"a": 1}, None],
    "gui.follow_playhead": [1, 0, "false", None, []],
    "playback.device": [5, ["pulse"], {"x": 1}, "x" * 1000, True],
    "export.format": ["mp3", "WAV", 0, None, ["wav"]],
    "export.bit_depth": [24, "8", None, 24.0],
    "export.rate": ["44100", 44100.0, 22050, True, False, None, math.nan],
    "export.folder": [5, "", ["/tmp"], {"a": "b"}, "x" * 5000, "/tmp/\x00"],
    "export.pattern": [5, "", None, ["<stem>"], "x" * 5000],
    "export.unchecked_stems": ["vocals", 5, {"vocals": True}, None],
    "export.mix": ["yes", 1, None, []],
    "licences.accepted": ["demucs-weights", {"demucs-weights": True}, 1, True, None],
    "models.ensembles": ["vox=2stems+2stems-16kHz", {"vox": "2stems"}, 3, None],
    "gui.wiener": [1, "true", None, [True]],
    "gui.ask_unsaved_run": [0, "no", None, []],
    "gui.project_folder": [5, "", ["/tmp"], "x" * 5000],
    "gui.open_folder": [5, "", {"a": "b"}, "x" * 5000],
    "gui.model_speed": [[], "2stems", 5, None, True],
}

DEFAULTS = {
    "gui.geometry": None, "gui.model": None, "gui.device": "auto",
    "gui.precision": "auto", "gui.scale": "log",
    "gui.opacity": 0.75, "gui.recent_files": [], "gui.follow_playhead": True,
    "playback.device": None, "export.format": "wav", "export.bit_depth": "24",
    "export.rate": 0, "export.folder": None, "export.pattern": "<song> - <stem>",
    "export.unchecked_stems": [], "export.mix": False, "licences.accepted": [],
    "models.ensembles": [],
    "gui.wiener": False, "gui.ask_unsaved_run": True, "gui.project_folder": None,
    "gui.open_folder": None, "gui.model_speed": {},
}

GOOD_VALUES = {
    "gui.geometry": "01d9d0cb00030000",
    "gui.model": "4stems",
    "gui.device": "cpu",
    "gui.precision": "bf16",
    "gui.scale": "linear",
    "gui.opacity": 0.4,
    "gui.recent_files": ["/music/a.wav", "/music/b.flac"],
    "gui.follow_playhead": False,
    "playback.device": "Speakers",
    "export.format": "flac",
    "export.bit_depth": "16",
    "export.rate": 48000,
    "export.folder": "/music/" + "long folder name/" * 30,
    "export.pattern": "<n> <stem>",
    "export.unchecked_stems": ["drums"],
    "export.mix": True,
    "licences.accepted": ["demucs-weights"],
    "models.ensembles": ["vox=2stems+2stems-16kHz@max_spec"],
    "gui.wiener": True,
    "gui.ask_unsaved_run": False,
    "gui.project_folder": "/music/projects",
    "gui.open_folder": "/music/songs",
    "gui.model_speed": {"2stems": {"device": "cpu", "song_s": 4.0, "run_s": 0.5,
                                   "s_per_min": 7.5}},
}


def _write(data, name="settings.json"):
    path = settings.config_dir() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_the_schema_covers_every_key_tested_here():
    from stemsplit.settings import SCHEMA

    assert set(SCHEMA) == set(BAD_VALUES) == set(GOOD_VALUES) == set(DEFAULTS)
    assert {k: v.default for k, v in SCHEMA.items()} == DEFAULTS


def test_good_values_are_read_back_unchanged():
    _write(GOOD_VALUES)
    s = Settings()
    for key, value in GOOD_VALUES.items():
        assert s.get(key) == value, key


@pytest.mark.parametrize("key", sorted(BAD_VALUES))
def test_each_bad_value_reads_as_the_default_and_the_other_keys_survive(key):
    for bad in BAD_VALUES[key]:
        _write({**GOOD_VALUES, key: bad, "some.future.key": {"kept": [1, 2]}})
        s = Settings()
        got = s.get(key)
        assert got == DEFAULTS[key], (key, bad, got)
        assert s.get(key, "caller's default") == "caller's default", (key, bad)
        for other, value in GOOD_VALUES.items():
            if other != key:
                assert s.get(other) == value, (key, bad, other)
        assert s.get("some.future.key") == {"kept": [1, 2]}


def test_missing_keys_read_as_their_default():
    s = Settings()
    assert s.get("gui.opacity") == 0.75
    assert s.get("gui.opacity", 0.5) == 0.5
    assert s.get("export.rate") == 0
    assert s.get("no.such.key") is None
    first = s.get("gui.recent_files")
    first.append("mutated")
    assert s.get("gui.recent_files") == []  # a default is never shared


def test_twenty_thousand_recent_files_are_cut_to_ten_strings():
    files = [f"/music/song {i}.wav" for i in range(20_000)]
    _write({"gui.recent_files": [None, 5, "", "/x\x00y", *files], "gui.scale": "linear"})
    s = Settings()
    assert s.get("gui.recent_files") == files[:10]
    assert s.get("gui.scale") == "linear"


def test_non_finite_numbers_in_the_file_read_as_defaults():
    path = settings.config_dir() / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"gui.opacity": NaN, "export.rate": 1e999, "gui.scale": "linear", '
                    '"export.folder": "/music"}')
    s = Settings()
    assert s.get("gui.opacity") == 0.75 and s.get("export.rate") == 0
    assert s.get("gui.scale") == "linear" and s.get("export.folder") == "/music"


def test_a_huge_integer_costs_only_its_key():
    # Python will not convert integers over 4300 digits: that must not lose the whole file.
    _write('{"export.rate": ' + "4" * 5000 + ', "gui.scale": "linear"}')
    s = Settings()
    assert s.get("export.rate") == 0 and s.get("gui.scale") == "linear"


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,                                    # RecursionError in json
    '{"gui.opacity": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"gui.scale": "linear", "pad": "' + "x" * (1 << 20) + '"}',
    "not json at all {",
    b"\xff\xfe\x00garbage".decode("latin-1"),
    '["a", "list"]',
])
def test_an_unreadable_file_is_set_aside_and_defaults_used(text):
    path = _write(text)
    s = Settings()
    assert s.get("gui.scale", "log") == "log" and s.get("gui.opacity", 0.75) == 0.75
    assert not path.exists() and path.with_suffix(".corrupt.json").exists()
    s.set("gui.scale", "linear")
    assert Settings().get("gui.scale") == "linear"


def test_unknown_keys_are_kept_but_absurd_nesting_is_dropped():
    deep = 900  # parses, but would blow the recursion limit when the file is saved
    text = ('{"gui.scale": "linear", "other.tool": {"a": [1, 2, {"b": null}]}, "deep": '
            + "[" * deep + "]" * deep + "}")
    _write(text)
    s = Settings()
    assert s.get("other.tool") == {"a": [1, 2, {"b": None}]}
    assert s.get("deep") is None
    s.set("gui.opacity", 0.3)  # saving works
    again = Settings()
    assert again.get("gui.opacity") == 0.3 and again.get("other.tool") == {"a": [1, 2, {"b": None}]}


def test_set_stores_cleaned_values_and_forgets_invalid_ones():
    s = Settings()
    s.set("gui.recent_files", [f"/m/{i}.wav" for i in range(50)])
    s.set("export.folder", "/music")
    s.set("export.folder", "x" * 10_000)  # longer than any file system allows
    s.set("gui.opacity", math.nan)
    data = json.loads((settings.config_dir() / "settings.json").read_text())
    assert data["gui.recent_files"] == [f"/m/{i}.wav" for i in range(10)]
    assert "export.folder" not in data and "gui.opacity" not in data
    s.set("not.serialisable", object())  # a bug elsewhere never makes saving crash
    assert Settings().get("gui.recent_files")[0] == "/m/0.wav"


def test_the_schema_choices_match_what_the_app_offers():
    pytest.importorskip("PySide6")
    from stemsplit.core.audio.export import DEFAULT_PATTERN
    from stemsplit.core.engine.device import DEVICE_CHOICES
    from stemsplit.core.engine.precision import PRECISION_CHOICES
    from stemsplit.gui.export import dialog as export_dialog
    from stemsplit.gui.preferences import MAX_RECENT
    from stemsplit.gui.run.panel import PRECISION_LABELS
    from stemsplit.settings import SCHEMA

    assert settings.DEVICES == DEVICE_CHOICES
    assert settings.PRECISIONS == PRECISION_CHOICES == tuple(PRECISION_LABELS)
    assert settings.EXPORT_FORMATS == tuple(v for v, _ in export_dialog.FORMATS)
    assert settings.EXPORT_DEPTHS == tuple(v for v, _ in export_dialog.DEPTHS)
    assert settings.EXPORT_RATES == tuple(v for v, _ in export_dialog.RATES)
    assert SCHEMA["export.pattern"].default == DEFAULT_PATTERN
    assert MAX_RECENT == settings.MAX_RECENT


@pytest.mark.parametrize("stored", ["demucs-weights", {"demucs-weights": True}, 1, None,
                                    ["x" * 200], [["demucs-weights"]]])
def test_accepted_licences_of_the_wrong_shape_read_as_nothing_accepted(stored):
    from stemsplit.core.models import licences

    assert licences.SETTINGS_KEY in settings.SCHEMA
    _write({licences.SETTINGS_KEY: stored, "gui.scale": "linear"})
    assert not licences.is_accepted("demucs-weights")  # asked again, never assumed
    assert licences.accepted_keys() == []
    licences.accept("demucs-weights")  # accepting again repairs the entry
    assert Settings().get(licences.SETTINGS_KEY) == ["demucs-weights"]
    assert Settings().get("gui.scale") == "linear"


def test_accepted_licences_keep_their_good_entries():
    from stemsplit.core.models import licences

    _write({licences.SETTINGS_KEY: [5, None, "demucs-weights", "a\x00b", "demucs-weights"]})
    assert licences.is_accepted("demucs-weights") and not licences.is_accepted("other")
    assert licences.accepted_keys() == ["demucs-weights"]


# -- issue 22, item 27: only a regular file, bounded; reset keys said once -------------------

READ_SETUP = """
import sys
from stemsplit.settings import Settings
"""
READ_BODY = """
s = Settings()
print("read", s.get("gui.scale"), s.get("gui.opacity"))
"""


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder"])
def test_a_settings_file_that_is_not_a_regular_file_is_not_read(kind, tmp_path):
    """A FIFO hung the start; a link to /dev/zero grew to 7.4 GB in 20 s."""
    from tests._bounded import run_bounded

    path = settings.config_dir() / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        import os

        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    run = run_bounded(READ_SETUP, READ_BODY, budget_mb=200, timeout_s=30)
    assert "read log 0.75" in run.stdout, run.stderr[-2000:]
    assert "not a regular file" in run.stderr
    assert path.exists() or path.is_symlink()   # not ours to move away


def test_the_keys_reset_are_said_once_and_dropped(caplog):
    path = _write({"gui.scale": 12, "gui.opacity": "half", "gui.device": "cpu",
                   "some.future.key": 1})
    with caplog.at_level("WARNING", logger="stemsplit.settings"):
        s = Settings()
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "gui.opacity, gui.scale" in said[0], said
    assert s.reset_keys == ["gui.opacity", "gui.scale"]
    assert (s.get("gui.scale"), s.get("gui.opacity"), s.get("gui.device")) == ("log", 0.75, "cpu")
    s.set("gui.device", "auto")  # the next save no longer carries the bad values
    assert json.loads(path.read_text()) == {"gui.device": "auto", "some.future.key": 1}
    caplog.clear()
    with caplog.at_level("WARNING", logger="stemsplit.settings"):
        assert Settings().reset_keys == []
    assert not caplog.records


def test_bad_model_speed_entries_are_dropped_and_the_good_ones_kept():
    good = {"device": "cuda · bf16", "song_s": 60.0, "run_s": 2.0, "s_per_min": 2.0}
    _write({"gui.model_speed": {
        "2stems": good, "": good, "nan": dict(good, run_s=math.nan), "neg": dict(good, run_s=-1),
        "dev": dict(good, device=" "), "dev2": dict(good, device="x" * 41),
        "flag": dict(good, song_s=True), "list": [1],
        "short": {"device": "cpu"}}})
    assert Settings().get("gui.model_speed") == {"2stems": good}
    many = {f"m{i}": good for i in range(500)}
    _write({"gui.model_speed": many})
    kept = Settings().get("gui.model_speed")
    assert len(kept) == settings.MAX_SPEEDS and list(kept)[-1] == "m499"
