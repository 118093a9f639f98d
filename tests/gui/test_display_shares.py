"""The shares drawn and read out always add up to 100 %, after edits and after reopening
(issue 20.4): the display masks come from the same edited stems that play and export."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from stemsplit.gui.spectrogram.view import whole_percents
from tests.gui.test_mask_editing import apply_with_mouse, ready, separate, vpos


def assert_shares_sum_to_one(window, columns=None) -> None:
    masks = window.view.masks
    assert masks is window.session.masks
    for scale in ("log", "linear"):
        covered = masks.covered(scale)
        cols = np.flatnonzero(covered) if columns is None else columns
        assert covered[cols].all()
        total = masks.array(scale)[:, :, cols].sum(axis=0)
        np.testing.assert_allclose(total, 1.0, atol=1e-4, err_msg=scale)


def test_shares_add_up_after_a_live_edit_and_after_reopening(
        qtbot, null_sink, window, short_clip, tmp_path):
    separate(qtbot, window, short_clip)
    ready(qtbot, window)
    view = window.view
    assert_shares_sum_to_one(window)  # a fresh separation
    # Scaling the vocals' share by half changes the stems' phases: |S_v| + |S_a| != |X|.
    apply_with_mouse(qtbot, window, Qt.Key_R, [vpos(view, 1.0, 300.0), vpos(view, 2.5, 6000.0)],
                     op="scale", hardness=60)
    grid = view.song.grids["log"]
    edited = np.arange(int(0.8 / grid.dt), int(2.7 / grid.dt))
    assert_shares_sum_to_one(window, edited)
    readout = view.readout(1.7, grid.y_of_hz(1000.0))
    percents = [int(part.split()[-1].rstrip("%")) for part in readout.split("   ")[3:]]
    assert len(percents) == 2 and sum(percents) == 100, readout
    assert readout.split("   ")[3].startswith("Vocals ")  # the one display name

    project = tmp_path / "shares.stemsplit"
    assert window.projects.save_to(project)
    with qtbot.waitSignal(window.edits.applier.ready, timeout=60_000):
        window.open_path(project)
    ready(qtbot, window)
    qtbot.waitUntil(lambda: window.view.masks is not None
                    and window.view.masks.covered().all(), timeout=30_000)
    assert_shares_sum_to_one(window)  # every column drawn from the reopened stems


def test_whole_percents_always_add_up_to_100():
    assert whole_percents([0.505, 0.495]) == [51, 49]
    assert sum(whole_percents([1 / 3, 1 / 3, 1 / 3])) == 100
    assert whole_percents([0.425, 0.61]) == [41, 59]  # even shares that over-add
    assert whole_percents([0.0, 0.0]) == [0, 0]
