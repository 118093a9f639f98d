"""Loop regions drawn on the spectrogram, the page-turning playhead and the output
device menu, in the real window on a real (null) sound card."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from tests.gui.conftest import load


@pytest.fixture
def playing_window(null_sink, window, qtbot, short_clip):
    load(qtbot, window, short_clip)
    assert window.playback is not None, "the window did not embed playback"
    return window


def _scene_x(view, seconds: float) -> int:
    """The view widget's x pixel of a time."""
    from PySide6.QtCore import QPointF

    scene = view.vb.mapViewToScene(QPointF(seconds, view.vb.viewRange()[1][0] + 0.5))
    return view.mapFromScene(scene).x()


def test_shift_drag_draws_the_loop_and_the_player_loops_it(playing_window, qtbot):
    window = playing_window
    view, player = window.view, window.playback.player
    sr = player.sample_rate
    y = view.height() // 2
    start, end = QPoint(_scene_x(view, 1.0), y), QPoint(_scene_x(view, 2.5), y)
    viewport = view.viewport()
    qtbot.mousePress(viewport, Qt.LeftButton, Qt.ShiftModifier, start)
    for frac in (0.3, 0.6, 1.0):  # a drag needs moves between press and release
        qtbot.mouseMove(viewport, start + (end - start) * frac)
    qtbot.mouseRelease(viewport, Qt.LeftButton, Qt.ShiftModifier, end)
    span = view.loop_span()
    assert span is not None and span[0] == pytest.approx(1.0, abs=0.05)
    assert span[1] == pytest.approx(2.5, abs=0.05)
    assert player.loop_enabled and player.loop_region is not None
    a, b = player.loop_region
    assert a == round(span[0] * sr) and b == round(span[1] * sr)
    assert player.position == a  # the loop starts where it was drawn
    assert window.view.x_range()[0] == pytest.approx(0.0, abs=1e-6)  # Shift+drag did not pan

    # It loops: the playhead passes the region's end and comes back round.
    assert player.play(), player.error
    seen = []
    window.playback.transport.positionChanged.connect(seen.append)
    qtbot.waitUntil(lambda: any(s > 2.2 for s in seen), timeout=15_000)
    qtbot.waitUntil(lambda: any(s > 2.2 for s in seen) and seen[-1] < 1.6, timeout=15_000)
    assert max(seen) <= span[1] + 0.1
    player.pause()

    # Editing the region's edge moves the player's loop; clearing it stops the looping.
    view.loop.setRegion((0.5, 3.0))
    view.loop.sigRegionChangeFinished.emit(view.loop)
    assert player.loop_region == (round(0.5 * sr), round(3.0 * sr))
    window.playback.menu.clear_loop.trigger()
    assert player.loop_region is None and view.loop_span() is None


def test_loop_visible_range_from_the_menu(playing_window):
    window = playing_window
    window.view.set_x_range(1.0, 2.0)
    window.playback.loop_visible_range()
    sr = window.playback.player.sample_rate
    assert window.playback.player.loop_region == (sr * 1, sr * 2)
    assert window.view.loop_span() == pytest.approx((1.0, 2.0))


def test_playhead_turns_the_page_when_following(playing_window, qtbot):
    window = playing_window
    player, view = window.playback.player, window.view
    view.set_x_range(0.0, 0.8)
    assert player.play(), player.error
    qtbot.waitUntil(lambda: view.x_range()[0] > 0.5, timeout=15_000)
    x0, x1 = view.x_range()
    assert x1 - x0 == pytest.approx(0.8, rel=1e-3)  # same zoom, next page
    assert x0 <= player.position_s <= x1 + 0.2
    player.pause()

    window.playback.menu.follow.setChecked(False)
    assert window.prefs.get("follow_playhead") is False
    view.set_x_range(0.0, 0.5)
    player.seek_seconds(1.0)
    assert player.play(), player.error
    qtbot.waitUntil(lambda: player.position_s > 1.5, timeout=15_000)
    qtbot.wait(100)
    assert view.x_range() == pytest.approx((0.0, 0.5))  # stays where the user put it
    player.pause()


def test_output_device_menu_lists_chooses_and_remembers(playing_window, null_sink):
    window = playing_window
    glue = window.playback
    menu = glue.menu
    assert menu.title() == "&Playback"
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles.index("&Playback") == len(titles) - 2  # just before Help
    labels = menu.fill_devices()
    assert labels[0] == "System Default" and len(labels) >= 2
    checked = [a.text() for a in menu.devices.actions() if a.isChecked()]
    assert checked == ["System Default"]

    other = next(a for a in menu.devices.actions() if a.text() != "System Default")
    name = other.text()
    other.trigger()
    assert glue.player.device_name == name
    assert window.prefs.settings.get("playback.device") == name
    assert glue.player.play(), glue.player.error  # it really plays there
    glue.player.pause()
    menu.fill_devices()
    assert [a.text() for a in menu.devices.actions() if a.isChecked()] == [name]

    next(a for a in menu.devices.actions() if a.text() == "System Default").trigger()
    assert glue.player.device_name is None
    assert window.prefs.settings.get("playback.device") is None


def test_dragging_along_the_time_ruler_draws_the_loop(playing_window, qtbot):
    window = playing_window
    view, player = window.view, window.playback.player
    ruler = view.time_axis.sceneBoundingRect()
    y = view.mapFromScene(ruler.center()).y()
    start, end = QPoint(_scene_x(view, 0.5), y), QPoint(_scene_x(view, 2.0), y)
    viewport = view.viewport()
    qtbot.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    for frac in (0.3, 0.6, 1.0):
        qtbot.mouseMove(viewport, start + (end - start) * frac)
    qtbot.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, end)
    span = view.loop_span()
    assert span is not None
    assert span == pytest.approx((0.5, 2.0), abs=0.05)
    assert player.loop_enabled
    assert player.loop_region == (round(span[0] * player.sample_rate),
                                  round(span[1] * player.sample_rate))
