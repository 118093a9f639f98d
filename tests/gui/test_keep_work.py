"""Not losing work in the real window: re-runs keep the stems, double-clicks, opening mid-run."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import answer_next_question, load
from tests.gui.test_model_choice import _install_random_weights

RUN_TIMEOUT_MS = 180_000


def separated(qtbot, window, path):
    """Open ``path`` and separate it; returns the finished StemSet."""
    load(qtbot, window, path)
    # The mask editor then wraps the stems in its own live arrays (ready): wait for that too.
    with qtbot.waitSignals([window.session.separationFinished, window.edits.applier.ready],
                           timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(window.run_panel.separate, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.run_panel.separate.isEnabled(), timeout=5_000)
    return window.session.stems


def assert_old_stems_in_place(window, stems, masks, before):
    s, player = window.session, window.playback.player
    assert s.stems is stems and s.masks is masks and window.view.masks is masks
    np.testing.assert_array_equal(masks.array("log"), before)
    assert list(window.stem_list.checks) == stems.names
    assert window.actions["export"].isEnabled()
    assert player.names == tuple(stems.names) and player.available == player.length
    assert player.is_muted("accompaniment")  # the mixer's state is kept too


def test_rerun_keeps_the_stems_until_it_succeeds(qtbot, null_sink, window, short_clip):
    stems = separated(qtbot, window, short_clip)
    s, player = window.session, window.playback.player
    masks, before = s.masks, s.masks.array("log").copy()
    player.set_mute("accompaniment", True)
    seen_during_run: list[bool] = []

    def check(*_args) -> None:  # at every progress report of the re-run
        seen_during_run.append(s.stems is stems and window.view.masks is masks
                               and player.available == player.length)

    s.separationProgress.connect(check)
    with qtbot.waitSignal(s.separationFinished, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(window.run_panel.separate, Qt.LeftButton)
        assert_old_stems_in_place(window, stems, masks, before)
        assert s.separating and s.replacing
        assert "current stems stay" in window.progress.label.text()
        assert player.play()  # the old stems really play while the new ones are made
        start = player.position
        qtbot.waitUntil(lambda: player.position > start + 2000, timeout=10_000)
    s.separationProgress.disconnect(check)
    player.pause()
    assert seen_during_run and all(seen_during_run)
    # Done: the new stems (and masks) replace the old, the mixer's mute stays.
    assert s.stems is not stems and s.stems.names == stems.names
    assert s.masks is not masks and window.view.masks is s.masks
    assert player.names == tuple(stems.names) and player.is_muted("accompaniment")
    assert player.available == player.length
    np.testing.assert_allclose(s.stems.mix(), s.audio.samples, atol=1e-4)


def test_rerun_with_another_model_swaps_every_view_at_the_end(qtbot, null_sink, window,
                                                             short_clip):
    stems = separated(qtbot, window, short_clip)
    s, player = window.session, window.playback.player
    _install_random_weights("5stems")  # real weights files; their values do not matter here
    window._on_model_installed("5stems")  # what the download dialog reports when done
    assert s.model_name == "5stems"
    with qtbot.waitSignal(s.separationFinished, timeout=RUN_TIMEOUT_MS):
        window.separate()
        assert s.stems is stems and list(window.stem_list.checks) == stems.names
        assert list(window.view.overlays) == stems.names
        assert list(window.playback.mixer.strips) == stems.names
    five = ["vocals", "piano", "drums", "bass", "other"]
    assert s.stems.names == five and s.masks.stems == five
    assert list(window.stem_list.checks) == five and list(window.view.overlays) == five
    assert window.view.masks is s.masks
    assert player.names == tuple(five) and list(window.playback.mixer.strips) == five
    assert [window.stem_list.mode.itemData(i) for i in range(1, 6)] == five


def test_cancelled_rerun_leaves_the_stems_playable_and_exportable(qtbot, null_sink, window,
                                                                  short_clip, tmp_path):
    stems = separated(qtbot, window, short_clip)
    s, player = window.session, window.playback.player
    masks, before = s.masks, s.masks.array("log").copy()
    player.set_mute("accompaniment", True)
    with qtbot.waitSignal(s.separationCancelled, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(window.run_panel.separate, Qt.LeftButton)
        assert s.separating
        qtbot.mouseClick(window.progress.cancel, Qt.LeftButton)
    assert not s.separating
    assert_old_stems_in_place(window, stems, masks, before)
    assert "previous stems are kept" in window.banner.text()
    assert window.run_panel.separate.isEnabled()
    assert player.play()
    start = player.position
    qtbot.waitUntil(lambda: player.position > start + 2000, timeout=10_000)
    player.pause()

    window.export_stems()
    dialog = window.export_dialog
    dialog.folder_edit.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(dialog.finished_export, timeout=60_000):
        dialog.export_button.click()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "short clip - accompaniment.wav", "short clip - vocals.wav"]


def test_failed_rerun_leaves_the_stems(qtbot, null_sink, window, short_clip):
    stems = separated(qtbot, window, short_clip)
    s = window.session
    masks, before = s.masks, s.masks.array("log").copy()
    window.playback.player.set_mute("accompaniment", True)
    s.set_model("4stems")  # not installed here: the run fails for real when it loads it
    with qtbot.waitSignal(s.separationFailed, timeout=RUN_TIMEOUT_MS):
        window.separate()
    assert_old_stems_in_place(window, stems, masks, before)
    assert "4stems" in window.banner.text() and "previous stems are kept" in window.banner.text()


def double_click(qtbot, widget) -> None:
    """What a real double-click delivers: press, release, double-click (a second press), release.

    (QTest's mouseDClick alone sends only the double-click event.)
    """
    qtbot.mousePress(widget, Qt.LeftButton)
    qtbot.mouseRelease(widget, Qt.LeftButton)
    qtbot.mouseDClick(widget, Qt.LeftButton)
    qtbot.mouseRelease(widget, Qt.LeftButton)


def test_double_click_on_separate_does_not_cancel(qtbot, window, short_clip):
    load(qtbot, window, short_clip)
    button, s = window.run_panel.separate, window.session
    cancelled: list[bool] = []
    s.separationCancelled.connect(cancelled.append)
    double_click(qtbot, button)
    assert s.separating
    assert button.text() == "Separating…" and not button.isEnabled()
    assert window.progress.isVisible() and window.progress.cancel.isEnabled()
    qtbot.mouseClick(button, Qt.LeftButton)  # an impatient third click
    assert s.separating
    qtbot.waitUntil(lambda: not s.separating, timeout=RUN_TIMEOUT_MS)
    assert not cancelled and s.stems is not None
    # Two quick clicks over finished stems: one re-run, not a cancelled one.
    first = s.stems
    qtbot.mouseClick(button, Qt.LeftButton)
    qtbot.mouseClick(button, Qt.LeftButton)
    assert s.separating
    qtbot.waitUntil(lambda: not s.separating, timeout=RUN_TIMEOUT_MS)
    assert not cancelled and s.stems is not None and s.stems is not first


def _drop(window, path) -> None:
    """Drag ``path`` over the window and drop it (enter, then drop, as a real drag does)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(QPoint(200, 200))
    enter = QDragEnterEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton,
                                              Qt.NoModifier))


def test_opening_another_song_while_separating_asks_first(qtbot, window, short_clip,
                                                          long_clip):
    load(qtbot, window, short_clip)
    load(qtbot, window, long_clip)  # File > Open Recent now lists the short clip second
    s = window.session
    with qtbot.waitSignal(s.separationStarted, timeout=10_000):
        window.separate()
    seen: list = []

    # No (the default): the run goes on, the song stays.
    answer_next_question("Keep Separating", seen)
    window.open_path(short_clip)
    answer_next_question("Keep Separating", seen)
    _drop(window, short_clip)
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=10_000)
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        QApplication.processEvents()
    for text, default in seen:
        assert "Stop separating long.wav and open short clip.wav?" in text
        assert default == "Keep Separating"
    assert s.separating and not s.loading and s.audio.path == long_clip

    # Yes, from File > Open Recent: the run stops and the other song opens.
    recent = [a for a in window.recent_menu.actions() if a.toolTip() == str(short_clip)]
    answer_next_question("Stop and Open", seen)
    with qtbot.waitSignal(s.songLoaded, timeout=60_000):
        recent[0].trigger()
    assert len(seen) == 3 and s.audio.path == short_clip
    qtbot.waitUntil(lambda: not s.separating, timeout=RUN_TIMEOUT_MS)
    assert s.stems is None and not window.banner.isVisible()
    assert window.run_panel.separate.text() == "Separate"
