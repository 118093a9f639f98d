"""Crafted and damaged project files (issue 22, items 15-20): one clear ProjectError each,
no more memory than the file really holds, and values the window could not take refused
or reset in the reader."""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import pytest

from stemsplit.core.project import ProjectError, load_project, save_project
from stemsplit.core.stems import StemSet
from tests._bounded import run_bounded
from tests.core._projects import (
    RATE,
    A,
    V,
    members,
    npy_with_header,
    rezip,
    small_editor,
    write_small_project,
)


@pytest.fixture
def good(tmp_path) -> Path:
    return write_small_project(tmp_path / "good.stemsplit")


def manifest_of(path: Path) -> dict:
    return json.loads(members(path)["manifest.json"])


def crafted(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / f"{name}.stemsplit"
    path.write_bytes(content)
    return path


LOAD_BOUNDED = """
import sys
from stemsplit.core.project import ProjectError, load_project
"""
LOAD_BODY = """
try:
    load_project(sys.argv[1])
except ProjectError as e:
    print("ProjectError:", e)
"""


# -- item 15: headers are checked before a byte of data is allocated ---------------------


def test_a_header_claiming_375_million_samples_is_refused_without_allocating(good, tmp_path):
    files = members(good)
    m = manifest_of(good)
    n = 375_000_000
    m.update(length=n, sample_rate=44100)   # consistent with the header: 8503 s
    big = f"{{'descr': '<f4', 'fortran_order': False, 'shape': (2, {n}), }}"
    files["mix.npy"] = npy_with_header(files["mix.npy"], big)
    files["stem_0.npy"] = npy_with_header(files["stem_0.npy"], big)
    path = crafted(tmp_path, "claims-3gb", rezip(files, m))
    # 3 GB would be allocated by a reader that trusts the header; 300 MB is all it gets.
    run = run_bounded(LOAD_BOUNDED, LOAD_BODY, budget_mb=300, timeout_s=60, args=(str(path),))
    assert "ProjectError: claims-3gb.stemsplit is damaged" in run.stdout, run.stderr[-2000:]
    assert "header promises" in run.stdout


@pytest.mark.parametrize("shape, descr", [((2, 4001), "<f4"), ((2, 4000), "<f8"),
                                          ((4000, 2), "<f4"), ((2, 4000), "|O")])
def test_a_member_unlike_its_manifest_is_refused(good, tmp_path, shape, descr):
    files = members(good)
    files["stem_0.npy"] = npy_with_header(
        files["stem_0.npy"], f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}")
    with pytest.raises(ProjectError, match="does not match its manifest"):
        load_project(crafted(tmp_path, "unlike", rezip(files)))


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_compressed_members_are_refused_before_inflating(good, tmp_path, method):
    """A 6.8 MB deflated zero member inflates to 3 GB: never inflated at all."""
    path = crafted(tmp_path, "packed", rezip(members(good), compression=method))
    with pytest.raises(ProjectError, match="repacked with compression"):
        load_project(path)


# -- item 16: rate, channels and length bounded before allocating --------------------------


@pytest.mark.parametrize("key, value, words", [
    ("sample_rate", 10**9, "sample rate"), ("sample_rate", 10**12, "sample rate"),
    ("sample_rate", 0, "sample rate"), ("channels", 0, "channel count"),
    ("channels", 6, "channel count"), ("length", 0, "length"),
    ("length", RATE * 7 * 3600, "length"), ("sample_rate", 44100.5, "sample rate")])
def test_rate_channels_and_length_are_bounded(good, tmp_path, key, value, words):
    m = manifest_of(good)
    m[key] = value
    with pytest.raises(ProjectError, match=words):
        load_project(crafted(tmp_path, key, rezip(members(good), m)))


def test_a_consistent_one_second_project_at_a_gigahertz_is_refused(tmp_path):
    ed = small_editor(seconds=0.001, rate=RATE)
    base = ed.base_stems()
    # What a crafted file could say: its 8 samples are 8 ns of audio at 1 GHz.
    stems = StemSet(10**9, dict(base.stems), "2stems")
    with pytest.raises(ProjectError, match="sample rate"):
        save_project(tmp_path / "ghz.stemsplit", song_path=None, model="2stems",
                     stems=stems, edits=[], mix=ed.mix)
        load_project(tmp_path / "ghz.stemsplit")


# -- item 18: ProjectError only, whatever is in the file ------------------------------------


def hostile_files(good: Path) -> dict[str, bytes]:
    files, m = members(good), manifest_of(good)
    data = good.read_bytes()

    def with_(**kw):
        return rezip(files, {**m, **kw})

    encrypted = bytearray(data)  # set the "encrypted" flag on every entry
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(sig)
        while at >= 0:
            encrypted[at + off] |= 1
            at = data.find(sig, at + 1)
    bad_header = dict(files)
    bad_header["mix.npy"] = npy_with_header(files["mix.npy"], "{'descr': '<f4', 'shape': (2,")
    return {
        "infinite channels": rezip(files, json.dumps(m).replace('"channels": 2',
                                                                '"channels": Infinity')),
        "infinite rate": rezip(files, json.dumps(m).replace(f'"sample_rate": {RATE}',
                                                            '"sample_rate": 1e400')),
        "huge int": rezip(files, json.dumps(m).replace(f'"length": {m["length"]}',
                                                       '"length": 1' + "0" * 5000)),
        "deep json": rezip(files, '{"format": "stemsplit-project", "view": '
                           + "[" * 200_000 + "]" * 200_000 + "}"),
        "deep edit": rezip(files, json.dumps(m).replace(
            '"edits": [', '"edits": [' + "[" * 50_000 + "]" * 50_000 + ",")),
        "encrypted": bytes(encrypted),
        "bad npy header": rezip(bad_header),
        "song path int": with_(song_path=5),
        "song path list": with_(song_path=["/a"]),
        "song path dict": with_(song_path={"p": 1}),
        "stems a string": with_(stems="vocals"),
        "edits a dict": with_(edits={"a": 1}),
        "edit of wrong types": with_(edits=[{"op": 1, "stem": [], "region": "x"}]),
        "edit t1 1.7e308": with_(edits=[{**m["edits"][0], "region": {
            **m["edits"][0]["region"], "t1": 1.7e308}}]),
        "strokes of strings": with_(edits=[{**m["edits"][1], "region": {
            **m["edits"][1]["region"], "strokes": [["a", "b"]]}}]),
        "version huge": with_(version=10 ** 30),
        "version true": with_(version=True),
        "not a dict": rezip(files, "[1, 2]"),
        "lone surrogate": rezip(files, json.dumps({**m, "model": "\ud800"})),
        "utf-16": rezip(files, json.dumps(m).encode("utf-16").decode("latin-1")),
        "duplicate stems": with_(stems=[V, V]),
    }


def test_every_hostile_file_raises_only_project_error(good, tmp_path):
    for name, content in hostile_files(good).items():
        path = crafted(tmp_path, name.replace(" ", "-"), content)
        try:
            p = load_project(path)
        except ProjectError as e:
            message = str(e)
        else:  # only a setting was unusable: it opens, saying what was reset
            assert p.notes and p.song_path is None, name
            continue
        assert path.name in message and "\n" not in message and len(message) < 300, name


def test_duplicate_stem_names_are_refused(good, tmp_path):
    m = manifest_of(good)
    m["stems"] = [V, V]
    with pytest.raises(ProjectError, match="same stem twice"):
        load_project(crafted(tmp_path, "dups", rezip(members(good), m)))


def test_saving_over_a_damaged_or_foreign_zip_raises_only_project_error(good, tmp_path):
    ed = small_editor()
    for name, content in hostile_files(good).items():
        path = crafted(tmp_path, name.replace(" ", "-"), content)
        try:
            save_project(path, song_path=None, model="2stems", stems=ed.base_stems(),
                         edits=ed.history, mix=ed.mix)
        except ProjectError:
            continue
        load_project(path)  # replaced (it was one of ours, damaged): now it opens


def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.stemsplit"
    os.mkfifo(fifo)
    body = """
try:
    load_project(sys.argv[1])
except ProjectError as e:
    print("ProjectError:", e)
"""
    run = run_bounded(LOAD_BOUNDED, body, timeout_s=30, args=(str(fifo),))
    assert "not a regular file" in run.stdout, run.stderr[-2000:]


# -- item 19: values that passed the reader and broke the window ----------------------------


def test_settings_the_window_cannot_take_are_reset_with_a_note(good, tmp_path):
    m = manifest_of(good)
    m["view"] = {"x_range": [-1e308, 1e308], "scale": 7}
    m["mixer"] = {V: {"gain_db": "loud", "solo": "yes", "mute": True}, A: {"gain_db": 1e308},
                  "ghost": {"gain_db": 0.0}}
    m["song_path"] = "/music/so\x00ng.wav"
    p = load_project(crafted(tmp_path, "odd", rezip(members(good), m)))
    duration = m["length"] / m["sample_rate"]
    assert p.view == {"x_range": [0.0, duration]}
    assert p.mixer == {V: {"gain_db": 0.0, "solo": False, "mute": True},
                       A: {"gain_db": 0.0, "solo": False, "mute": False}}
    assert p.song_path is None
    text = " ".join(p.notes)
    assert "gain" in text and "song path" in text and "scale" in text


@pytest.mark.parametrize("x_range", [[float("nan"), 1.0], ["a", "b"], [0.3, 0.3], 5])
def test_a_broken_view_range_is_dropped(good, tmp_path, x_range):
    m = manifest_of(good)
    m["view"] = {"x_range": x_range}
    text = json.dumps(m)  # NaN is written as NaN: the reader must refuse the constant
    try:
        p = load_project(crafted(tmp_path, "range", rezip(members(good), text)))
    except ProjectError as e:
        assert "unreadable manifest" in str(e)
        return
    assert "x_range" not in p.view and p.notes


def test_edits_far_outside_the_song_are_refused(good, tmp_path):
    m = manifest_of(good)
    m["edits"][0]["region"]["t1"] = 1.7e308
    with pytest.raises(ProjectError, match="edit 1"):
        load_project(crafted(tmp_path, "far", rezip(members(good), m)))


# -- item 20: saving keeps the file's mode and writes through a link ------------------------


def test_a_saved_project_follows_the_umask_and_keeps_an_existing_mode(tmp_path):
    old = os.umask(0o022)
    try:
        fresh = write_small_project(tmp_path / "fresh.stemsplit")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        os.umask(0o077)
        write_small_project(fresh)              # an existing 0644 project stays 0644
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        fresh.chmod(0o640)
        write_small_project(fresh)
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o640
        private = write_small_project(tmp_path / "private.stemsplit")
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_saving_over_a_symlink_writes_through_to_its_target(tmp_path):
    real_dir = tmp_path / "library"
    real_dir.mkdir()
    target = write_small_project(real_dir / "real.stemsplit")
    link = tmp_path / "link.stemsplit"
    link.symlink_to(target)
    written = write_small_project(link, view={"scale": "linear"})
    assert written == link and link.is_symlink() and link.resolve() == target
    assert load_project(target).view == {"scale": "linear"}
    assert sorted(os.listdir(tmp_path)) == ["library", "link.stemsplit"]
    assert os.listdir(real_dir) == ["real.stemsplit"]  # no leftovers beside the target
