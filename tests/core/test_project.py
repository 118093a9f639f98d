"""Project files (core.project) with the real demo separation and real edits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from stemsplit.core.editing.editor import Edit, MaskEditor, Region
from stemsplit.core.errors import StemsplitError
from stemsplit.core.project import (
    EXTENSION,
    VERSION,
    ProjectError,
    load_project,
    save_project,
)
from stemsplit.core.stems import StemSet

V, A = "vocals", "accompaniment"
MIXER = {V: {"gain_db": -3.5, "solo": False, "mute": True}}
VIEW = {"scale": "log", "x_range": [1.25, 7.5]}


@pytest.fixture(scope="module")
def edited(demo_audio, demo_stems):
    """An editor on the real separation with a few edits of every kind."""
    ed = MaskEditor(demo_audio.samples, demo_stems)
    ed.replay([
        Edit(Region.rect(2.0, 4.0, 3000, 8000), "assign", V),
        Edit(Region.brush([(5.0, 300.0), (5.4, 600.0), (5.8, 450.0)], 0.15,
                          radius_oct=0.4, feather=0.5), "remove", V, 0.8),
        Edit(Region.brush([(7.0, 2000.0)], 0.3, radius_hz=500.0), "scale", A, 1.7),
        Edit(Region.rect(8.0, 9.5, 0, 30000, feather=1.0), "scale", V, 0.25),
    ])
    return ed


def save(path, editor: MaskEditor, song_path, **kw) -> Path:
    args = dict(song_path=song_path, model="2stems", stems=editor.base_stems(),
                edits=editor.history, mixer=MIXER, view=VIEW, mix=editor.mix)
    args.update(kw)
    return save_project(path, **args)


def test_round_trip_reopens_the_same_edited_stems(tmp_path, edited, demo_path):
    written = save(tmp_path / "song", edited, demo_path)
    assert written == tmp_path / f"song{EXTENSION}" and written.is_file()
    with zipfile.ZipFile(written) as zf:
        # The last stem is mix minus the others, so only the mix and vocals are stored.
        assert sorted(zf.namelist()) == ["manifest.json", "mix.npy", "stem_0.npy"]
    p = load_project(written)
    assert (p.path, p.song_path, p.model, p.version) == (written, demo_path, "2stems", VERSION)
    assert p.song_found and p.mixer == MIXER and p.view == VIEW
    assert p.edits == edited.history and len(p.edits) == 4
    assert np.array_equal(p.mix, edited.mix)
    base = edited.base_stems()
    assert p.stems.names == base.names and p.stems.sample_rate == base.sample_rate
    for name in base.names:
        assert np.array_equal(p.stems.stems[name], base.stems[name]), name
    again = MaskEditor(p.mix, p.stems)
    again.replay(p.edits)
    for name in base.names:
        assert np.array_equal(again.stems().stems[name], edited.stems().stems[name]), name
    # Saving over the same project replaces it.
    save(written, edited, demo_path, view={"scale": "linear"})
    assert load_project(written).view == {"scale": "linear"}


def test_a_last_stem_that_is_not_mix_minus_others_is_stored(tmp_path, demo_audio, demo_stems):
    mix = demo_audio.samples
    v = demo_stems.stems[V]
    stems = StemSet(demo_stems.sample_rate, {V: v, "drums": v * 0.5, A: mix - v})
    path = save_project(tmp_path / "three.stemsplit", song_path=None, model="x",
                        stems=stems, edits=[], mix=mix)
    p = load_project(path)
    assert p.song_path is None and not p.song_found and p.mixer == {} and p.view == {}
    for name in stems.names:
        assert np.array_equal(p.stems.stems[name], stems.stems[name])


def test_a_moved_song_still_opens(tmp_path, edited, demo_path):
    song = tmp_path / "moved.wav"
    shutil.copy(demo_path, song)
    path = save(tmp_path / "p.stemsplit", edited, song)
    song.unlink()
    p = load_project(path)
    assert p.song_path == song and not p.song_found
    assert np.array_equal(p.mix, edited.mix)


def corrupt_variants(good: Path, tmp: Path, demo_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, expected words in the error)."""
    data = good.read_bytes()
    out = {}

    def put(name, content: bytes, words):
        f = tmp / f"{name}.stemsplit"
        f.write_bytes(content)
        out[name] = (f, words)

    put("truncated", data[: len(data) // 2], "damaged")
    flipped = bytearray(data)
    at = data.index(b"\x93NUMPY") + 4000      # inside the mix's samples
    flipped[at: at + 8] = bytes(255 - b for b in flipped[at: at + 8])
    put("flipped", bytes(flipped), "damaged")
    put("noise", np.random.default_rng(0).bytes(5000), "not a stemsplit project")
    put("empty", b"", "not a stemsplit project")
    put("song", demo_path.read_bytes(), "not a stemsplit project")

    def rezip(name, manifest_edit, words, drop=()):
        f = tmp / f"{name}.stemsplit"
        with zipfile.ZipFile(good) as src, zipfile.ZipFile(f, "w") as dst:
            for item in src.namelist():
                if item in drop:
                    continue
                body = src.read(item)
                if item == "manifest.json" and manifest_edit:
                    m = json.loads(body)
                    manifest_edit(m)
                    body = json.dumps(m).encode()
                dst.writestr(item, body)
        out[name] = (f, words)

    rezip("newer", lambda m: m.update(version=VERSION + 1), "newer stemsplit")
    rezip("foreign", lambda m: m.update(format="something-else"), "not a stemsplit project")
    rezip("no-manifest", None, "not a stemsplit project", drop=("manifest.json",))
    rezip("no-mix", None, "mix.npy is missing", drop=("mix.npy",))
    rezip("wrong-length", lambda m: m.update(length=m["length"] + 1), "damaged")
    rezip("bad-edit", lambda m: m["edits"][0].update(op="smear"), "damaged")
    rezip("unknown-stem", lambda m: m["edits"][0].update(stem="drums"), "unknown stem")
    return out


def test_damaged_foreign_and_newer_files_say_so(tmp_path, edited, demo_path):
    good = save(tmp_path / "good.stemsplit", edited, demo_path)
    load_project(good)
    for name, (path, words) in corrupt_variants(good, tmp_path, demo_path).items():
        with pytest.raises(ProjectError, match=words) as info:
            load_project(path)
        assert path.name in str(info.value), name
        assert isinstance(info.value, StemsplitError)
    with pytest.raises(ProjectError, match="not found"):
        load_project(tmp_path / "missing.stemsplit")


def test_nothing_is_written_when_saving_fails(tmp_path, edited, demo_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ProjectError, match="Cannot save"):
        save(blocker / "p.stemsplit", edited, demo_path)
    with pytest.raises(ProjectError, match="settings"):
        save(tmp_path / "p.stemsplit", edited, demo_path, mixer={"gain": object()})
    with pytest.raises(ProjectError, match="settings"):
        save(tmp_path / "p.stemsplit", edited, demo_path, view={"x": float("nan")})
    assert sorted(os.listdir(tmp_path)) == ["a-file"]


def test_never_replaces_the_song_or_another_file(tmp_path, edited, demo_path):
    song = tmp_path / "song.stemsplit"    # a song that happens to carry the extension
    shutil.copy(demo_path, song)
    before = song.read_bytes()
    with pytest.raises(ProjectError, match="the song itself"):
        save(song, edited, song)
    other = tmp_path / "notes.txt"
    other.write_text("mine")
    with pytest.raises(ProjectError, match="not a stemsplit project"):
        save(other, edited, demo_path)
    assert song.read_bytes() == before and other.read_text() == "mine"


CHILD = """
import resource, signal, sys
import numpy as np
from stemsplit.core.project import ProjectError, save_project
from stemsplit.core.stems import StemSet
d = np.load(sys.argv[1])
stems = StemSet(44100, {"vocals": d["v"], "accompaniment": d["a"]})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    save_project(sys.argv[2], song_path=None, model="2stems", stems=stems, edits=[], mix=d["m"])
except ProjectError as e:
    print("ProjectError:", e)
"""


def test_a_write_that_fails_midway_keeps_the_old_project(tmp_path, edited, demo_path):
    """A real write error after 1 MB (a file-size limit, as a full disk would give)."""
    path = save(tmp_path / "p.stemsplit", edited, demo_path, view={"scale": "linear"})
    old = path.read_bytes()
    base = edited.base_stems().stems
    arrays = tmp_path / "arrays.npz"
    np.savez(arrays, v=base[V], a=base[A] * 0.5, m=edited.mix)
    run = subprocess.run([sys.executable, "-c", CHILD, str(arrays), str(path)],
                         capture_output=True, text=True, timeout=120)
    assert "ProjectError: Cannot save p.stemsplit" in run.stdout, run.stderr
    assert path.read_bytes() == old
    assert sorted(os.listdir(tmp_path)) == ["arrays.npz", "p.stemsplit"]
    assert load_project(path).view == {"scale": "linear"}


def test_the_loop_is_kept_and_a_loop_that_does_not_fit_is_dropped(tmp_path, edited, demo_path):
    from stemsplit.core.project import Loop

    written = save(tmp_path / "looped", edited, demo_path, loop=Loop(2.5, 4.0, False))
    assert load_project(written).loop == Loop(2.5, 4.0, False)
    assert load_project(save(tmp_path / "plain", edited, demo_path)).loop is None
    duration = edited.length / edited.base_stems().sample_rate
    for bad in ({"start": 4.0, "end": 2.0, "on": True}, {"start": -1, "end": 2, "on": True},
                {"start": 1, "end": duration + 5, "on": True}, {"start": "1", "end": 2},
                {"start": 1, "end": 2, "on": "yes"}, [1, 2], 7, {"start": True, "end": 2}):
        assert Loop.from_json(bad, duration) is None, bad
    assert Loop.from_json({"start": 0, "end": duration, "on": True}, duration) == \
        Loop(0.0, duration, True)
