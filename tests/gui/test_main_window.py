"""The real window, offscreen: load, separate, masks, cancel, drop, errors, settings."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PySide6.QtCore import QByteArray, QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QMainWindow

from stemsplit.gui.spectrogram.view import MIX
from tests.gui.conftest import answer_next_question, load

RUN_TIMEOUT_MS = 180_000


def engine_display_masks(separator, audio, grids):
    """The engine's own masks, stitched later-wins at full resolution, reduced like the GUI."""
    blocks = [p.masks for p in separator.iter_separate(audio.samples, audio.sample_rate)
              if p.masks is not None]
    n_frames = max(b.frame_start + b.masks.shape[-1] for b in blocks)
    full = np.zeros(blocks[0].masks.shape[:2] + (n_frames,), np.float32)
    for b in blocks:
        full[..., b.frame_start: b.frame_start + b.masks.shape[-1]] = b.masks
    return {scale: grid.reduce(full, 0, blocks[0].hop_seconds, blocks[0].bin_hz)
            for scale, grid in grids.items()}


def test_window_starts_without_torch():
    code = ("import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
            "from stemsplit.gui.app import create_app\n"
            "from stemsplit.gui.main_window import MainWindow\n"
            "app = create_app(); w = MainWindow(); w.show()\n"
            "print('torch-at-startup' if 'torch' in sys.modules else 'no-torch')\n"
            "app.processEvents(); w.close()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert "no-torch" in out.stdout, out.stdout + out.stderr


def test_loading_a_song_draws_its_spectrogram_and_overview(qtbot, window, demo_path):
    assert window.stack.currentWidget() is window.drop_hint
    load(qtbot, window, demo_path)
    song = window.session.display
    grid = song.grids["log"]
    assert window.stack.currentIndex() == 1
    image = window.view.base.image
    assert image.shape == (grid.rows, grid.columns) and image.dtype == np.float32
    np.testing.assert_array_equal(image, song.db["log"])
    assert window.view.x_range() == (0.0, song.duration_s) or \
        abs(window.view.x_range()[1] - song.duration_s) < 0.05
    assert len(window.overview.curve.getData()[0]) > 100
    assert demo_path.name in window.windowTitle()
    assert window.actions["separate"].isEnabled() and not window.actions["export"].isEnabled()
    window.stem_list.set_scale("linear")
    np.testing.assert_array_equal(window.view.base.image, song.db["linear"])
    assert window.prefs.get("scale") == "linear"


def test_separation_shows_every_stems_mask_matching_the_engine(qtbot, window, short_clip,
                                                                separator):
    load(qtbot, window, short_clip)
    session = window.session
    progress: list[float] = []
    session.separationProgress.connect(lambda f, _eta, _dev: progress.append(f))
    with qtbot.waitSignal(session.separationFinished, timeout=RUN_TIMEOUT_MS):
        qtbot.keyClick(window, Qt.Key_Return, Qt.ControlModifier)  # Ctrl+Enter
    assert progress and progress[-1] == 1.0
    # the precision that ran is shown: the window's "auto" resolves as the engine's does
    assert window.progress.device.text() == f"Device: CPU · {separator.precision.name.upper()}"
    assert session.stems is not None and session.stems.names == list(separator.stems)
    np.testing.assert_allclose(session.stems.mix(), session.audio.samples, atol=1e-4)

    expected = engine_display_masks(separator, session.audio, session.display.grids)
    for scale, (first, arr) in expected.items():
        assert first == 0
        shown = session.masks.display_masks(scale)
        assert set(shown) == set(separator.stems)
        for i, name in enumerate(separator.stems):
            np.testing.assert_allclose(shown[name], arr[i], atol=2e-3)
    assert session.masks.complete

    # Every stem has a visible overlay image drawn from its mask.
    level = window.view._level["log"]
    for name, item in window.view.overlays.items():
        assert item.isVisible()
        np.testing.assert_allclose(item.image, shown_log(session)[name] * level, rtol=1e-5)
    assert window.actions["export"].isEnabled()
    assert set(window.stem_list.checks) == set(separator.stems)

    # Hovering reports time, frequency, level and shares that sum to one.
    info = window.view.probe(1.0, np.log10(1000.0))
    assert set(info["shares"]) == set(separator.stems)
    assert abs(sum(info["shares"].values()) - 1.0) < 0.02
    assert "kHz" in window.view.readout(1.0, np.log10(1000.0))

    # Toggling an overlay and showing a single stem.
    first_stem = separator.stems[0]
    window.stem_list.checks[first_stem].setChecked(False)
    assert not window.view.overlays[first_stem].isVisible()
    window.set_view_mode(first_stem)
    assert not any(item.isVisible() for item in window.view.overlays.values())
    assert not np.array_equal(window.view.base.image, session.display.db["log"])
    window.set_view_mode(MIX)
    assert window.view.overlays[separator.stems[1]].isVisible()


def shown_log(session):
    return session.masks.display_masks("log")


def test_cancel_stops_the_run_and_keeps_the_song(qtbot, window, long_clip):
    load(qtbot, window, long_clip)
    session = window.session
    with qtbot.waitSignal(session.masksUpdated, timeout=RUN_TIMEOUT_MS):
        window.separate()
    assert window.run_panel.separate.text() == "Separating…"
    assert not window.run_panel.separate.isEnabled()
    with qtbot.waitSignal(session.separationCancelled, timeout=30_000):
        window.progress.cancel.click()
    assert not session.separating and session.stems is None
    assert session.audio is not None and session.audio.path == long_clip
    assert "cancelled" in window.banner.text().lower()
    assert window.run_panel.separate.text() == "Separate"
    assert not window.progress.isVisible()
    # A first run that did not finish leaves nothing drawn (test_cancel_restores has more).
    assert session.masks is None and window.view.masks is None


def test_dropping_a_file_on_the_window_opens_it(qtbot, window, short_clip):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(short_clip))])
    pos = QPoint(200, 200)
    enter = QDragEnterEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(pos), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(window.session.songLoaded, timeout=60_000):
        QApplication.sendEvent(window, drop)
    assert window.session.audio.path == short_clip
    assert short_clip.name in window.windowTitle()


def test_a_bad_file_shows_a_message_and_keeps_the_loaded_song(qtbot, window, demo_path,
                                                               tmp_path):
    load(qtbot, window, demo_path)
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"this is not audio at all" * 100)
    with qtbot.waitSignal(window.session.loadFailed, timeout=60_000):
        window.open_path(bad)
    assert window.banner.isVisible()
    assert "broken.mp3" in window.banner.text()
    assert window.session.audio.path == demo_path
    assert demo_path.name in window.windowTitle()
    with qtbot.waitSignal(window.session.loadFailed, timeout=60_000):
        window.open_path(tmp_path / "missing.wav")
    assert "missing.wav" in window.banner.text()


def test_empty_and_surround_files(qtbot, window, demo_audio, tmp_path):
    """An empty file is refused by name; a 5.1 file is folded to stereo and says so."""
    import soundfile as sf

    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with qtbot.waitSignal(window.session.loadFailed, timeout=60_000):
        window.open_path(empty)
    assert "empty.wav" in window.banner.text() and "empty" in window.banner.text().lower()

    n = 3 * demo_audio.sample_rate
    left, right = demo_audio.samples[:, :n]
    six = np.stack([left, right, 0.5 * (left + right), np.zeros(n), 0.3 * left, 0.3 * right])
    surround = tmp_path / "surround.wav"
    sf.write(surround, six.T.astype(np.float32), demo_audio.sample_rate, subtype="FLOAT")
    load(qtbot, window, surround)
    audio = window.session.audio
    assert audio.channels == 2 and audio.original_channels == 6
    assert window.banner.isVisible() and "6 channels" in window.banner.text()
    assert "stereo" in window.banner.text() and "--downmix" not in window.banner.text()
    assert surround.name in window.windowTitle()


def test_choices_and_recent_files_are_remembered(qtbot, app, window, short_clip):
    from stemsplit.gui.main_window import MainWindow

    load(qtbot, window, short_clip)
    window.run_panel.deviceChosen.emit("cpu")
    window.run_panel.precisionChosen.emit("fp32")
    window.stem_list.set_opacity(0.4)
    window.close()
    saved = window.prefs.get("geometry")
    again = MainWindow()
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.session.engine_ready, timeout=60_000)
    assert again.session.device_name == "cpu"
    assert again.run_panel.device.currentData() == "cpu"
    assert again.run_panel.precision.currentData() == "fp32"
    assert again.session.precision_name == "fp32"
    assert again.view.opacity == 0.4
    # The offscreen screen is too small to compare sizes; the saved geometry must restore.
    assert again.prefs.get("geometry") == saved
    assert QMainWindow().restoreGeometry(QByteArray.fromHex(saved.encode("ascii")))
    recent = [a.text() for a in again.recent_menu.actions()]
    assert any(short_clip.name in t for t in recent)
    with qtbot.waitSignal(again.session.songLoaded, timeout=60_000):
        again.recent_menu.actions()[0].trigger()
    again.close()


def test_about_and_demo(qtbot, window):
    import stemsplit

    dialog = window.show_about()
    assert stemsplit.__version__ in dialog.text.text()
    assert "MIT" in dialog.text.text()
    dialog.close()
    from stemsplit.gui.shortcuts_dialog import ShortcutsDialog

    window.actions["shortcuts"].trigger()
    shortcuts = window.findChildren(ShortcutsDialog)[-1]
    keys = [shortcuts.table.item(i, 0).text() for i in range(shortcuts.table.rowCount())]
    assert "Ctrl+Return, Ctrl+Enter" in keys and "Ctrl+E" in keys and "Space" in keys
    shortcuts.close()
    with qtbot.waitSignal(window.session.songLoaded, timeout=60_000):
        window.actions["demo"].trigger()
    assert "audio_example" in window.windowTitle()


def test_zoom_pan_and_fit(qtbot, window, demo_path):
    load(qtbot, window, demo_path)
    window.actions["zoom_in"].trigger()
    start, end = window.view.x_range()
    assert end - start < 0.6 * window.session.display.duration_s
    region = window.overview.region.getRegion()
    assert abs(region[0] - start) < 1e-6 and abs(region[1] - end) < 1e-6
    window.overview.spanRequested.emit(0.0, 2.0)
    assert window.view.x_range() == (0.0, 2.0)
    window.actions["fit"].trigger()
    assert abs(window.view.x_range()[1] - window.session.display.duration_s) < 1e-3
    # Wheel zooms time only; a double click fits the song again.
    viewport = window.view.viewport()
    centre = viewport.rect().center()
    y_before = window.view.vb.viewRange()[1]
    for _ in range(3):
        wheel = QWheelEvent(QPointF(centre), QPointF(viewport.mapToGlobal(centre)), QPoint(0, 0),
                            QPoint(0, 120), Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
        QApplication.sendEvent(viewport, wheel)
    start, end = window.view.x_range()
    assert end - start < 0.9 * window.session.display.duration_s
    assert window.view.vb.viewRange()[1] == y_before
    # What a real double click delivers: press, release, double-click, release.
    for kind in (QEvent.MouseButtonPress, QEvent.MouseButtonRelease,
                 QEvent.MouseButtonDblClick, QEvent.MouseButtonRelease):
        pressed = Qt.NoButton if kind == QEvent.MouseButtonRelease else Qt.LeftButton
        QApplication.sendEvent(viewport, QMouseEvent(
            kind, QPointF(centre), QPointF(viewport.mapToGlobal(centre)), Qt.LeftButton,
            pressed, Qt.NoModifier))
    qtbot.waitUntil(lambda: window.view.x_range()[1] - window.view.x_range()[0]
                    > 0.99 * window.session.display.duration_s, timeout=5_000)


def test_stems_reach_playback_and_export(qtbot, window, short_clip):
    from stemsplit.gui.export.dialog import ExportDialog

    assert window.playback is not None, "playback widgets should be in the window"
    player = window.playback.player
    load(qtbot, window, short_clip)
    assert player.length == window.session.audio.frames and not player.has_stems
    assert window.transport_area.isAncestorOf(window.playback.transport)
    window.stem_list.stemDragged.emit("vocals")  # too early: a hint, no drag
    assert "once the separation is done" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.session.separationFinished, timeout=RUN_TIMEOUT_MS):
        window.separate()
    assert player.has_stems and tuple(player.names) == tuple(window.session.stems.names)
    assert player.available == window.session.audio.frames
    window.view.clickedAt.emit(1.5)  # a click on the spectrogram seeks
    assert abs(player.position_s - 1.5) < 0.05
    window.actions["export"].trigger()
    assert isinstance(window.export_dialog, ExportDialog)
    window.export_dialog.reject()


def test_a_ten_minute_song_is_drawn_at_screen_resolution(qtbot, window):
    """Zoomed out, each layer holds about one column per pixel; zoomed in, full detail."""
    from stemsplit.gui.spectrogram.display import compute_song_display

    rng = np.random.default_rng(2)
    song = compute_song_display((0.1 * rng.standard_normal((2, 44100 * 600))).astype(
        np.float32), 44100)
    window.stack.setCurrentIndex(1)
    window.view.set_song(song)
    qtbot.waitUntil(lambda: window.view.vb.width() > 100)
    window.view.fit()
    width = window.view.vb.width()
    shown = window.view.base.image.shape[1]
    assert width <= shown < 2 * width + 2
    window.view.set_x_range(100.0, 110.0)
    assert window.view.base.image.shape[1] == song.grids["log"].columns


def test_opening_a_song_during_a_run_replaces_it_quietly(qtbot, window, long_clip, short_clip):
    load(qtbot, window, long_clip)
    with qtbot.waitSignal(window.session.separationStarted, timeout=10_000):
        window.separate()
    answer_next_question("Stop and Open", [])  # asked first: see test_keep_work.py
    with qtbot.waitSignal(window.session.separationCancelled, timeout=RUN_TIMEOUT_MS) as sig:
        window.open_path(short_clip)
    assert sig.args == [False]
    qtbot.waitUntil(lambda: window.session.audio.path == short_clip, timeout=60_000)
    assert not window.banner.isVisible()
    assert window.session.masks is None and window.session.stems is None
    assert window.run_panel.separate.text() == "Separate"


def test_run_opens_the_window_with_the_song(short_clip):
    """The entry point the CLI calls: window up, first path loading, event loop running.

    Runs in a child process: a second ``exec()`` in the test process would leave
    the shared QApplication in its closing state for the tests after this one.
    """
    code = f"""
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from stemsplit.gui import app as app_module
from stemsplit.gui.main_window import MainWindow

def check_then_quit():
    wins = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    if wins and wins[0].isVisible() and wins[0].session.audio is not None:
        print("TITLE", wins[0].windowTitle())
        wins[0].close()
        QApplication.quit()
    else:
        QTimer.singleShot(50, check_then_quit)

app_module.create_app()  # run() reuses it; the timer needs an application first
QTimer.singleShot(50, check_then_quit)
sys.exit(app_module.run([{str(short_clip)!r}]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"TITLE {short_clip.name}" in out.stdout, out.stdout + out.stderr
