"""Saving an edited song as a project and opening it again in the real window."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import load
from tests.gui.test_mask_editing import apply_with_mouse, key, ready, separate, vpos


def test_a_saved_project_reopens_edited_with_its_mixer_and_no_new_run(
        qtbot, null_sink, window, short_clip, demo_path, tmp_path):
    separate(qtbot, window, short_clip)
    ready(qtbot, window)
    s, view, player = window.session, window.view, window.playback.player
    base = {n: a.copy() for n, a in s.stems.stems.items()}
    apply_with_mouse(qtbot, window, Qt.Key_R, [vpos(view, 1.0, 2000.0), vpos(view, 2.0, 5000.0)])
    edited = {n: a.copy() for n, a in s.stems.stems.items()}
    assert not np.array_equal(edited["vocals"], base["vocals"])
    player.set_gain_db("accompaniment", -6.0)
    player.set_mute("vocals", True)
    view.set_x_range(0.5, 3.0)
    project = tmp_path / "my edits.stemsplit"
    assert window.projects.save_to(project)
    assert project.is_file() and not window.projects.dirty
    assert "*" not in window.windowTitle()

    load(qtbot, window, demo_path)  # another song; then File > Open of the project
    assert s.stems is None and not window.projects.dirty
    runs: list = []
    s.separationStarted.connect(lambda *a: runs.append(a))
    with qtbot.waitSignal(window.edits.applier.ready, timeout=60_000):
        window.open_path(project)
    ready(qtbot, window)
    assert not runs and s.audio.path == short_clip  # stems from the file, no re-separation
    for name, audio in edited.items():
        np.testing.assert_array_equal(s.stems.stems[name], audio)
    np.testing.assert_allclose(sum(s.stems.stems.values()), s.audio.samples, atol=1e-5)
    assert player.gain_db("accompaniment") == pytest.approx(-6.0)
    assert player.is_muted("vocals") and not player.is_muted("accompaniment")
    assert view.x_range() == pytest.approx((0.5, 3.0), abs=0.05)
    assert window.windowTitle().startswith("my edits") and "*" not in window.windowTitle()
    assert window.projects.path == project

    # The edit history came along: Ctrl+Z goes back to the network's stems.
    with qtbot.waitSignal(window.edits.applier.changed, timeout=30_000):
        key(qtbot, window, Qt.Key_Z, Qt.ControlModifier)
    for name, audio in base.items():
        np.testing.assert_array_equal(s.stems.stems[name], audio)
    assert window.windowTitle().startswith("my edits*")
