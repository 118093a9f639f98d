"""Transport bar and mixer panel in a real offscreen window, on a real null sound card."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from stemsplit.gui.playback.mixer_panel import MixerPanel
from stemsplit.gui.playback.transport_bar import TransportBar, format_time
from stemsplit.playback import Player


@pytest.fixture
def rig(app, qtbot, null_sink):
    """A window holding a TransportBar and a MixerPanel on one real Player."""
    player = Player()
    host = QWidget()
    box = QVBoxLayout(host)
    transport = TransportBar(player)
    mixer = MixerPanel(player, {"vocals": "#ff0000"})
    box.addWidget(mixer)
    box.addWidget(transport)
    transport.install_shortcuts(host)
    mixer.install_shortcuts(host)
    qtbot.addWidget(host)
    host.resize(420, 300)
    host.show()
    qtbot.waitExposed(host)
    yield host, player, transport, mixer
    player.close()


def test_mixture_only_strip_before_separation(rig, demo_audio):
    _host, player, transport, mixer = rig
    assert mixer.strips == {} and not transport.play_button.isEnabled()
    player.set_sources(demo_audio.samples, demo_audio.sample_rate)
    assert list(mixer.strips) == ["mix"]
    strip = mixer.strips["mix"]
    assert "Original mix" in strip.label.text()
    assert strip.solo.isHidden() and strip.mute.isHidden()
    assert transport.play_button.isEnabled()
    assert transport.time_label.text() == f"0:00.0 / {format_time(demo_audio.duration_s)}"


def test_clicking_solo_and_mute_sets_the_player(rig, qtbot, demo_audio, demo_stems):
    _host, player, _transport, mixer = rig
    player.set_sources(demo_audio.samples, demo_audio.sample_rate, demo_stems.stems)
    assert list(mixer.strips) == ["vocals", "accompaniment"]
    voc, acc = mixer.strips["vocals"], mixer.strips["accompaniment"]
    assert "#ff0000" in voc.label.styleSheet()  # the colour it was given
    qtbot.mouseClick(voc.solo, Qt.LeftButton)
    assert player.is_solo("vocals") and not player.is_audible("accompaniment")
    assert not acc.audible  # dimmed: it cannot be heard
    qtbot.mouseClick(acc.solo, Qt.LeftButton)  # solos combine
    assert player.is_audible("vocals") and player.is_audible("accompaniment")
    qtbot.mouseClick(voc.mute, Qt.LeftButton)  # mute wins over solo
    assert player.is_muted("vocals") and not player.is_audible("vocals")
    qtbot.mouseClick(voc.mute, Qt.LeftButton)
    qtbot.mouseClick(voc.solo, Qt.LeftButton)
    qtbot.mouseClick(acc.solo, Qt.LeftButton)
    assert not any(player.settings.solo + player.settings.mute)
    # state changed elsewhere shows on the buttons
    player.set_mute("accompaniment", True)
    assert acc.mute.isChecked()


def test_fader_sets_gain_and_double_click_resets(rig, qtbot, demo_audio, demo_stems):
    _host, player, _transport, mixer = rig
    player.set_sources(demo_audio.samples, demo_audio.sample_rate, demo_stems.stems)
    slider = mixer.strips["vocals"].slider
    slider.setValue(-125)  # what dragging does
    assert player.gain_db("vocals") == pytest.approx(-12.5)
    assert mixer.strips["vocals"].gain_label.text() == "-12.5 dB"
    qtbot.mouseDClick(slider, Qt.LeftButton)
    assert player.gain_db("vocals") == 0.0 and slider.value() == 0


def test_play_pause_moves_the_clock_and_meters(rig, qtbot, demo_audio, demo_stems):
    _host, player, transport, mixer = rig
    player.set_sources(demo_audio.samples, demo_audio.sample_rate, demo_stems.stems)
    seen = []
    transport.positionChanged.connect(seen.append)
    qtbot.mouseClick(transport.play_button, Qt.LeftButton)
    assert player.is_playing and transport.play_button.toolTip() == "Pause (Space)"
    qtbot.waitUntil(lambda: bool(seen) and seen[-1] > 0.3, timeout=15_000)
    qtbot.waitUntil(lambda: mixer.strips["accompaniment"].meter.db > -40, timeout=5000)
    assert transport.time_label.text() != "0:00.0 / 0:10.9"
    qtbot.mouseClick(transport.play_button, Qt.LeftButton)
    assert not player.is_playing
    qtbot.waitUntil(lambda: transport.play_button.toolTip() == "Play (Space)", timeout=2000)
    qtbot.mouseClick(transport.loop_button, Qt.LeftButton)
    assert player.loop_enabled and transport.loop_button.isChecked()
    qtbot.mouseClick(transport.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: player.position == 0, timeout=2000)
    qtbot.waitUntil(lambda: seen[-1] == 0.0, timeout=2000)
    assert transport.time_label.text().startswith("0:00.0 /")


def test_keyboard_shortcuts(rig, qtbot, demo_audio, demo_stems):
    host, player, _transport, mixer = rig
    player.set_sources(demo_audio.samples, demo_audio.sample_rate, demo_stems.stems)
    host.activateWindow()
    qtbot.waitUntil(host.isActiveWindow, timeout=2000)
    assert mixer.current == "vocals"
    qtbot.keyClick(host, Qt.Key_S)
    assert player.is_solo("vocals")
    qtbot.keyClick(host, Qt.Key_BracketRight)
    qtbot.keyClick(host, Qt.Key_M)
    assert mixer.current == "accompaniment" and player.is_muted("accompaniment")
    qtbot.keyClick(host, Qt.Key_L)
    assert player.loop_enabled
    player.seek(50_000)
    qtbot.keyClick(host, Qt.Key_Home)
    assert player.position == 0
    qtbot.keyClick(host, Qt.Key_Space)
    assert player.is_playing
    qtbot.keyClick(host, Qt.Key_Space)
    assert not player.is_playing


def test_missing_device_is_shown_not_hung(app, qtbot, null_sink):
    player = Player(device="Gone Card")
    bar = TransportBar(player)
    qtbot.addWidget(bar)
    bar.show()
    player.set_sources(np.zeros((2, 44100), np.float32), 44100)
    with qtbot.waitSignal(bar.errorOccurred) as blocker:
        qtbot.mouseClick(bar.play_button, Qt.LeftButton)
    assert "Gone Card" in blocker.args[0]
    assert not player.is_playing
    assert bar.error_label.isVisible() and "Gone Card" in bar.error_label.text()
    player.set_device(None, remember=False)  # the user picks another device: it plays
    qtbot.mouseClick(bar.play_button, Qt.LeftButton)
    assert player.is_playing and not bar.error_label.isVisible()
    player.close()


def test_main_window_plays_and_follows_the_separation(null_sink, window, qtbot, short_clip):
    """Through the real window: the mix plays, stems join as they finish, S/M work."""
    from tests.gui.conftest import load

    glue = window.playback
    assert glue is not None, "the window did not embed playback"
    player, mixer = glue.player, glue.mixer
    load(qtbot, window, short_clip)
    assert list(mixer.strips) == ["mix"]
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window, Qt.Key_Space)
    assert player.is_playing, player.error
    qtbot.keyClick(window, Qt.Key_L)  # loop the whole song: it plays through the run
    assert player.loop_enabled
    qtbot.waitUntil(lambda: window.view.playhead.value() > 0.2, timeout=15_000)
    with qtbot.waitSignal(window.session.stemsReady, timeout=180_000):
        window.session.separate()
        qtbot.waitUntil(lambda: player.has_stems, timeout=10_000)  # follows the run
    assert list(mixer.strips) == ["vocals", "accompaniment"]
    assert player.available == player.length
    qtbot.mouseClick(mixer.strips["vocals"].solo, Qt.LeftButton)
    assert player.is_solo("vocals") and not player.is_audible("accompaniment")
    window.activateWindow()  # shortcuts act in the active window
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window, Qt.Key_BracketRight)
    qtbot.keyClick(window, Qt.Key_M)
    assert player.is_muted("accompaniment") and mixer.strips["accompaniment"].mute.isChecked()
    qtbot.keyClick(window, Qt.Key_Space)
    assert not player.is_playing
    qtbot.keyClick(window, Qt.Key_Home)
    assert player.position == 0
