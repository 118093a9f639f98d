"""Fixtures for driving the real window offscreen."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf


@pytest.fixture(scope="module")
def null_sink():
    """A private PulseAudio server with a null sink, used as the default output."""
    from tests.playback.pulse_sink import NullSink, use_sink

    why = NullSink.available()
    if why:
        pytest.fail(f"playback GUI tests need a PulseAudio null sink: {why}")
    sink = NullSink(name="stemsplit_gui_test")
    sink.start()
    with use_sink(sink):
        yield sink
    sink.cleanup()


@pytest.fixture
def app(qapp):
    """The QApplication with the app's theme (pytest-qt's qapp, themed once)."""
    from stemsplit.gui.app import create_app

    return create_app()


@pytest.fixture
def window(app, qtbot):
    """A real MainWindow; closing it on teardown cancels and joins its threads."""
    from stemsplit.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1200, 760)
    win.show()
    qtbot.waitUntil(lambda: win.session.engine_ready, timeout=60_000)
    yield win
    win.close()


@pytest.fixture
def short_clip(tmp_path, demo_audio):
    """The first 4 s of the demo as a WAV file (a short real song for a quick run)."""
    path = tmp_path / "short clip.wav"
    n = 4 * demo_audio.sample_rate
    sf.write(path, demo_audio.samples[:, :n].T, demo_audio.sample_rate, subtype="FLOAT")
    return path


@pytest.fixture
def long_clip(tmp_path, demo_audio):
    """About 65 s of real music (the demo six times): several chunks, time to cancel."""
    path = tmp_path / "long.wav"
    sf.write(path, np.tile(demo_audio.samples, 6).T, demo_audio.sample_rate, subtype="FLOAT")
    return path


def load(qtbot, window, path) -> None:
    """Open ``path`` in the window and wait until it is drawn."""
    with qtbot.waitSignal(window.session.songLoaded, timeout=60_000):
        window.open_path(path)
