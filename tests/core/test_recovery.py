"""core.recovery: the snapshot a window keeps, read back after its process died."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stemsplit.core.editing.editor import Edit, MaskEditor, Region
from stemsplit.core.project import save_project
from stemsplit.core.recovery import RecoveryFolder, find_orphans, restore
from stemsplit.core.recovery.orphans import RecoveryError
from stemsplit.core.stems import StemSet


@pytest.fixture
def song(demo_audio):
    """3 s of the demo with two real-music 'stems' that sum to it exactly."""
    mix = np.ascontiguousarray(demo_audio.samples[:, : 3 * demo_audio.sample_rate])
    vocals = (0.4 * mix).astype(np.float32)
    return mix, StemSet(demo_audio.sample_rate, {"vocals": vocals, "accompaniment": mix - vocals},
                        "2stems")


EDITS = [Edit(Region.rect(0.2, 1.0, 500, 4000), "assign", "vocals"),
         Edit(Region.rect(1.0, 2.5, 100, 800, feather=0.4), "scale", "accompaniment", 0.5),
         Edit(Region.rect(0.5, 2.0, 2000, 9000), "remove", "vocals")]


def edited(mix, stems, ops):
    editor = MaskEditor(mix, stems)
    for op in ops:
        op(editor)
    return editor


def test_journal_replays_apply_undo_redo_clear_to_the_same_stems(tmp_path, song):
    mix, stems = song
    folder = RecoveryFolder(tmp_path)
    folder.write_base(song_path="/music/song.wav", model="2stems", stems=stems, mix=mix)
    folder.update(unsaved=True)
    editor = MaskEditor(mix, stems)
    for op in (lambda e: e.apply(EDITS[0]), lambda e: e.apply(EDITS[1]), lambda e: e.undo(),
               lambda e: e.redo(), lambda e: e.apply(EDITS[2]), lambda e: e.clear("vocals"),
               lambda e: e.undo(), lambda e: e.undo()):
        op(editor)
        folder.journal(editor.history)
    folder.release()  # the process dies: the lock goes with it

    (orphan,), notes = find_orphans(tmp_path)
    assert notes == [] and orphan.song == "song.wav" and orphan.model == "2stems"
    project = restore(orphan)
    again = MaskEditor(project.mix, project.stems)
    again.replay(project.edits)
    for name in stems.names:
        np.testing.assert_array_equal(again.stems().stems[name], editor.stems().stems[name])


def test_a_live_folder_is_not_an_orphan_and_a_saved_one_is_not_offered(tmp_path, song):
    mix, stems = song
    live = RecoveryFolder(tmp_path)
    live.write_base(song_path=None, model="2stems", stems=stems, mix=mix)
    live.update(unsaved=True)
    assert find_orphans(tmp_path) == ([], [])  # its window still holds the lock
    live.update(unsaved=False)
    live.release()
    assert find_orphans(tmp_path) == ([], []) and list(tmp_path.iterdir()) == []


def test_a_torn_last_line_is_the_only_loss(tmp_path, song):
    mix, stems = song
    folder = RecoveryFolder(tmp_path)
    folder.write_base(song_path=None, model="2stems", stems=stems, mix=mix)
    folder.update(unsaved=True)
    folder.journal(EDITS[:1])
    folder.journal(EDITS[:2])
    with open(folder.folder / "journal.jsonl", "ab") as f:
        f.write(b'{"keep":2,"add":[{"op":"ass')  # power cut mid-line
    folder.release()
    (orphan,), _ = find_orphans(tmp_path)
    assert restore(orphan).edits == EDITS[:2]


@pytest.mark.parametrize("damage", ["state", "journal", "base"])
def test_a_damaged_folder_is_set_aside_with_a_sentence(tmp_path, song, damage):
    mix, stems = song
    folder = RecoveryFolder(tmp_path)
    folder.write_base(song_path=None, model="2stems", stems=stems, mix=mix)
    folder.update(unsaved=True)
    folder.journal(EDITS[:1])
    folder.journal(EDITS[:2])
    folder.release()
    path = folder.folder
    if damage == "state":
        (path / "state.json").write_text("{not json")
        orphans, notes = find_orphans(tmp_path)
        assert orphans == [] and len(notes) == 1
        assert "state file cannot be read" in notes[0] and "set aside in" in notes[0]
        assert (tmp_path / "damaged" / path.name).is_dir() and not path.exists()
        return
    if damage == "journal":
        lines = (path / "journal.jsonl").read_bytes().split(b"\n")
        (path / "journal.jsonl").write_bytes(b"garbage\n" + b"\n".join(lines[1:]))
    else:
        data = (path / "base.stemsplit").read_bytes()
        (path / "base.stemsplit").write_bytes(data[: len(data) // 2])
    (orphan,), _ = find_orphans(tmp_path)
    with pytest.raises(RecoveryError) as info:
        restore(orphan)
    assert ("line 1 of the edit journal is damaged" if damage == "journal"
            else "stems cannot be read") in str(info.value)


def test_a_base_project_changed_since_is_not_replayed_on(tmp_path, song):
    mix, stems = song
    project = tmp_path / "p.stemsplit"
    save_project(project, song_path=None, model="2stems", stems=stems, edits=EDITS[:1], mix=mix)
    root = tmp_path / "recovery"
    folder = RecoveryFolder(root)
    folder.use_project(project, EDITS[:1], song_path=None, model="2stems")
    folder.journal(EDITS[:2])
    folder.update(unsaved=True)
    folder.release()
    (orphan,), _ = find_orphans(root)
    assert restore(orphan).edits == EDITS[:2]  # the project's edit, then the journal's
    orphan.release()
    save_project(project, song_path=None, model="2stems", stems=stems, edits=[], mix=mix)
    (orphan,), _ = find_orphans(root)
    with pytest.raises(RecoveryError, match="p.stemsplit, was changed since"):
        restore(orphan)
    state = json.loads((orphan.folder / "state.json").read_text())
    assert state["project"]["path"] == str(project)
