"""Fixtures for driving the real window offscreen."""

from __future__ import annotations

import time

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


# A modal box that nobody answers blocks in Qt's exec(), where pytest-timeout's
# signal never reaches Python: the whole run would hang. Close it and fail instead.
MODAL_PATIENCE_S = 30.0


@pytest.fixture(autouse=True)
def no_unanswered_modal_box(qapp):
    """Fails the test that leaves a modal box open for MODAL_PATIENCE_S (and closes it)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    stuck: list[str] = []
    opened: dict[int, float] = {}

    def check() -> None:
        box = QApplication.activeModalWidget()
        if box is None:
            opened.clear()
            return
        since = opened.setdefault(id(box), time.monotonic())
        if time.monotonic() - since > MODAL_PATIENCE_S:
            text = box.text() if hasattr(box, "text") else ""
            stuck.append(f"{box.windowTitle()!r}: {text!r}")
            box.reject()

    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(250)
    yield
    timer.stop()
    assert not stuck, f"a modal box was left unanswered ({MODAL_PATIENCE_S} s): {stuck}"


@pytest.fixture
def window(app, qtbot):
    """A real MainWindow; closing it on teardown cancels and joins its threads.

    Edits a test left unsaved are discarded: the close question has its own test.
    """
    from PySide6.QtWidgets import QApplication

    from stemsplit.gui.main_window import MainWindow

    win = MainWindow()
    win.resize(1200, 760)
    win.show()
    qtbot.waitUntil(lambda: win.session.engine_ready, timeout=60_000)
    yield win
    if win.session.separating:  # closing would ask whether to stop it
        win.session.cancel()
        qtbot.waitUntil(lambda: not win.session.separating, timeout=120_000)
    win.edits.applier.worker.wait()
    QApplication.processEvents()  # the last edit results arrive (and may mark edits unsaved)
    win.projects.set_dirty(False)
    win.close()
    win.deleteLater()


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


def answer_next_question(button_text: str, seen: list) -> None:
    """Click ``button_text`` in the modal box about to open (a real QMessageBox).

    Appends (the box's text and informative text, its default button's text) to ``seen``.
    """
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        default = box.defaultButton().text() if box.defaultButton() else ""
        seen.append((f"{box.text()}\n{box.informativeText()}", default))
        for b in box.buttons():
            if b.text() == button_text:
                b.click()
                return
        seen.append((f"no button {button_text!r}", default))
        box.reject()  # never leave the test hanging on a modal box
    QTimer.singleShot(0, click)
