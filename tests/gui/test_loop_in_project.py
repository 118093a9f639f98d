"""The loop is saved in projects, comes back on reopening, and shows on the overview (20.6)."""

from __future__ import annotations

import pytest

from tests.gui.conftest import load
from tests.gui.test_mask_editing import ready, separate


def test_loop_region_and_state_survive_a_project_and_show_on_the_overview(
        qtbot, null_sink, window, short_clip, tmp_path):
    separate(qtbot, window, short_clip)
    ready(qtbot, window)
    view, overview, player = window.view, window.overview, window.playback.player
    assert not overview.loop.isVisible()
    view.set_x_range(1.0, 2.5)
    window.playback.loop_visible_range()   # Playback > Loop Visible Range
    assert overview.loop.isVisible()
    assert overview.loop.getRegion() == pytest.approx((1.0, 2.5), abs=1e-3)
    window.playback.transport.toggle_loop()    # looping off, the region stays
    assert not player.loop_enabled and overview.loop.isVisible()
    project = tmp_path / "looped.stemsplit"
    assert window.projects.save_to(project)

    load(qtbot, window, short_clip)   # the song alone again: no loop
    assert view.loop_span() is None and not overview.loop.isVisible()
    with qtbot.waitSignal(window.edits.applier.ready, timeout=60_000):
        window.open_path(project)
    ready(qtbot, window)
    qtbot.waitUntil(lambda: view.loop_span() is not None, timeout=10_000)
    assert view.loop_span() == pytest.approx((1.0, 2.5), abs=1e-3)
    sr = player.sample_rate
    assert player.loop_region == (round(1.0 * sr), round(2.5 * sr))
    assert not player.loop_enabled
    assert overview.loop.isVisible()
    assert overview.loop.getRegion() == pytest.approx((1.0, 2.5), abs=1e-3)
