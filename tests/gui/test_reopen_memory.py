"""Opening a project over an open song: the song waits on disk meanwhile, and a failed
open leaves it bit for bit as it was, edits included (issue 23, item 6)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import soundfile as sf

from stemsplit.core.recovery.spill import PREFIX
from tests.core.test_recovery_spill import mapping_of
from tests.gui.conftest import answer_next_question
from tests.gui.test_mask_editing import ready, separate
from tests.gui.test_unsaved_work import edit

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


@pytest.fixture
def song_of_200s(tmp_path, demo_audio):
    """Arrays of 70 MB: above core.recovery.spill.MIN_PAGE_OUT, as on a long song."""
    path = tmp_path / "long song.wav"
    sf.write(path, np.tile(demo_audio.samples, 19).T, demo_audio.sample_rate, subtype="FLOAT")
    return path


def on_disk(a: np.ndarray) -> bool:
    line = mapping_of(a)
    return PREFIX in line and "(deleted)" in line


def test_a_failed_project_open_leaves_the_song_on_disk_bit_for_bit_and_editable(
        qtbot, window, song_of_200s, tmp_path):
    s, applier = window.session, window.edits.applier
    window.projects.page_out_min = 0
    separate(qtbot, window, song_of_200s)
    ready(qtbot, window)
    edit(qtbot, window)
    good = tmp_path / "good.stemsplit"
    assert window.projects.save_to(good)
    saved = {k: a.copy() for k, a in s.stems.stems.items()}
    from stemsplit.core.editing.editor import Edit, Region

    with qtbot.waitSignal(applier.changed, timeout=30_000):
        applier.apply(Edit(Region.rect(3.0, 6.0, 200, 3000), "assign", "accompaniment"))
    mix, stems = s.audio.samples.copy(), {k: a.copy() for k, a in s.stems.stems.items()}
    assert not any(np.array_equal(stems[k], saved[k]) for k in stems)
    data = bytearray(good.read_bytes())
    data[len(data) * 2 // 3: len(data) * 2 // 3 + 64] = b"\x7f" * 64  # stem audio: bad CRC
    bad = tmp_path / "bad.stemsplit"
    bad.write_bytes(bytes(data))

    seen: list = []
    answer_next_question("Discard", seen)
    with qtbot.waitSignal(s.loadFailed, timeout=60_000) as failed:
        window.open_path(bad)
    assert "damaged" in failed.args[0] and "Save the mask edits" in seen[0][0]
    assert bad.read_bytes() == bytes(data)  # the project file is never written
    # The same arrays, now backed by the (nameless) scratch file, with the same bits.
    assert on_disk(s.audio.samples) and all(on_disk(a) for a in s.stems.stems.values())
    np.testing.assert_array_equal(s.audio.samples, mix)
    for k, a in s.stems.stems.items():
        np.testing.assert_array_equal(a, stems[k])
        assert a is window.edits.editor.stems().stems[k]  # still the editor's live arrays
    assert window.projects.dirty and window.edits.has_edits()
    # Editing goes on in the same memory: undo gives back the stems as saved.
    with qtbot.waitSignal(applier.changed, timeout=30_000):
        applier.undo()
    for k, a in s.stems.stems.items():
        np.testing.assert_array_equal(a, saved[k])

    # Now the good project opens over it: its own stems, in RAM.
    answer_next_question("Discard", seen)
    with qtbot.waitSignal(applier.ready, timeout=60_000):
        window.open_path(good)
    ready(qtbot, window)
    assert window.projects.path == good and not window.projects.dirty
    for k, a in s.stems.stems.items():
        np.testing.assert_array_equal(a, saved[k])
        assert not on_disk(a)
    assert not on_disk(s.audio.samples)
