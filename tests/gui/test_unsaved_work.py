"""Unsaved work in the real window: separations and mixer changes count (issue 20, item 9),
Discard keeps the mark until the replacing action succeeds (issue 23, item 4), saving runs
off the GUI thread (issue 20, item 7), finished workers are let go (issue 23, item 5)."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from tests.gui.conftest import answer_next_question
from tests.gui.test_mask_editing import RUN_TIMEOUT_MS, ready, separate


def edit(qtbot, window) -> None:
    from stemsplit.core.editing.editor import Edit, Region

    with qtbot.waitSignal(window.edits.applier.changed, timeout=30_000):
        window.edits.applier.apply(Edit(Region.rect(0.5, 2.0, 1000, 6000), "assign", "vocals"))


def test_discard_then_a_failed_open_keeps_the_edits_unsaved(qtbot, window, short_clip,
                                                           tmp_path):
    separate(qtbot, window, short_clip)
    ready(qtbot, window)
    edit(qtbot, window)
    edited = window.session.stems.stems["vocals"].copy()
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 50)
    seen: list = []
    answer_next_question("Discard", seen)
    with qtbot.waitSignal(window.session.loadFailed, timeout=30_000):
        window.open_path(bad)
    assert "Save the mask edits" in seen[0][0]
    # The song and its edits are still there, and still count as unsaved.
    np.testing.assert_array_equal(window.session.stems.stems["vocals"], edited)
    assert window.projects.dirty and window.windowTitle().startswith("short clip.wav*")
    answer_next_question("Cancel", seen)
    window.close()
    assert window.isVisible() and len(seen) == 2  # closing still asks


def test_discard_then_a_cancelled_rerun_keeps_the_edits_unsaved(qtbot, window, short_clip):
    separate(qtbot, window, short_clip)
    ready(qtbot, window)
    edit(qtbot, window)
    s = window.session
    seen: list = []
    answer_next_question("Discard", seen)
    with qtbot.waitSignal(s.separationCancelled, timeout=RUN_TIMEOUT_MS):
        window.separate()
        assert s.separating
        window.cancel()
    assert window.projects.dirty and window.edits.dirty and window.edits.has_edits()
    assert window.windowTitle().startswith("short clip.wav*")


def test_a_finished_separation_and_mixer_changes_are_unsaved_until_saved(
        qtbot, window, short_clip, tmp_path):
    separate(qtbot, window, short_clip)
    ready(qtbot, window)
    projects, player = window.projects, window.playback.player
    assert projects.dirty and window.windowTitle().startswith("short clip.wav*")
    seen: list = []
    answer_next_question("Cancel", seen)
    window.close()
    assert window.isVisible() and "Save the separation of short clip.wav" in seen[0][0]

    assert projects.save_to(tmp_path / "song.stemsplit")
    assert not projects.dirty and "*" not in window.windowTitle()
    player.set_gain_db("vocals", -3.0)  # a mixer change is unsaved work again
    qtbot.waitUntil(lambda: window.windowTitle().startswith("song*"), timeout=3000)
    assert projects.mixer_changed() and not projects.edits_unsaved

    # "Don't ask again": the box's check box, kept in the settings.
    def tick_and_discard() -> None:
        from PySide6.QtWidgets import QApplication, QMessageBox

        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, tick_and_discard)
            return
        seen.append(box.text())
        box.checkBox().setChecked(True)
        box.button(QMessageBox.Discard).click()
    QTimer.singleShot(0, tick_and_discard)
    assert projects.confirm_discard("opening another file")
    assert "Save the mixer settings of song" in seen[-1]
    assert window.prefs.get("ask_unsaved_run") is False
    assert projects.confirm_discard("closing the window")  # not asked again
    assert len(seen) == 2
    edit(qtbot, window)  # edits always ask
    answer_next_question("Cancel", seen)
    assert not projects.confirm_discard("closing the window")
    assert "Save the mask edits" in seen[-1][0]


def test_save_writes_in_the_background_while_the_window_runs(qtbot, window, short_clip,
                                                            tmp_path, monkeypatch):
    import stemsplit.core.project as project_module

    separate(qtbot, window, short_clip)
    ready(qtbot, window)
    writers: list[str] = []
    real = project_module.save_project

    def slow_save(*args, **kwargs):  # a long song's save: the GUI loop must keep turning
        writers.append(threading.current_thread().name)
        threading.Event().wait(0.5)
        return real(*args, **kwargs)
    monkeypatch.setattr(project_module, "save_project", slow_save)
    ticks: list[int] = []
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: ticks.append(1))
    heartbeat.start(10)
    assert window.projects.save_to(tmp_path / "p.stemsplit")
    heartbeat.stop()
    assert writers == ["stemsplit-edits"] and len(ticks) >= 20, (writers, len(ticks))
    assert (tmp_path / "p.stemsplit").is_file()


@pytest.mark.slow
def test_finished_workers_and_the_stems_they_filled_are_let_go(qtbot, window, short_clip,
                                                              tmp_path):
    s = window.session
    separate(qtbot, window, short_clip)
    ready(qtbot, window)
    first = weakref.ref(s.partial_stems["vocals"])  # a run's own buffer
    window.projects.set_dirty(False)
    for _ in range(2):  # re-runs, and a re-run cancelled
        with qtbot.waitSignal(s.separationFinished, timeout=RUN_TIMEOUT_MS):
            window.separate()
        ready(qtbot, window)
        window.projects.set_dirty(False)
    with qtbot.waitSignal(s.separationCancelled, timeout=RUN_TIMEOUT_MS):
        window.separate()
        window.cancel()
    window.projects.set_dirty(False)
    assert window.projects.save_to(tmp_path / "p.stemsplit")
    for _ in range(2):  # the project reopened: each load held the whole project
        with qtbot.waitSignal(window.edits.applier.ready, timeout=60_000):
            window.open_path(tmp_path / "p.stemsplit")
    qtbot.waitUntil(lambda: s.live_threads <= 1, timeout=10_000)  # the engine probe only
    gc.collect()
    assert first() is None  # the first run's stems went with its thread
