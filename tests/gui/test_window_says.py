"""What the window says (issue 23, item 9): a drop of many files or a folder and a file."""

from __future__ import annotations

import shutil

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication


def drop(qtbot, window, paths) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPoint(200, 200)
    QApplication.sendEvent(window, QDragEnterEvent(pos, Qt.CopyAction, mime, Qt.LeftButton,
                                                   Qt.NoModifier))
    event = QDropEvent(QPointF(pos), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(window.session.songLoaded, timeout=60_000):
        QApplication.sendEvent(window, event)


def test_twenty_files_dropped_open_the_first_and_say_what_became_of_the_rest(
        qtbot, window, short_clip, tmp_path):
    files = [short_clip]
    for i in range(19):
        copy = tmp_path / f"song {i:02d}.wav"
        shutil.copyfile(short_clip, copy)
        files.append(copy)
    drop(qtbot, window, files)
    assert window.session.audio.path == short_clip
    text = window.banner.text()
    assert window.banner.isVisible() and "Opened short clip.wav only" in text
    assert "19 more files" in text and "stemsplit separate" in text


def test_a_folder_dropped_with_a_file_opens_the_file_and_names_the_folder(
        qtbot, window, short_clip, tmp_path):
    folder = tmp_path / "album"
    folder.mkdir()
    drop(qtbot, window, [folder, short_clip])
    assert window.session.audio.path == short_clip
    assert "the folder album" in window.banner.text()


def test_a_silent_file_draws_at_the_floor_not_bright(qtbot, window, tmp_path):
    import numpy as np
    import soundfile as sf

    from stemsplit.gui.spectrogram.display import FLOOR_DB
    from tests.gui.conftest import load

    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros((3 * 44100, 2), np.float32), 44100, subtype="FLOAT")
    load(qtbot, window, silent)
    for db in window.session.display.db.values():
        assert (db == FLOOR_DB).all()  # was 0 dB everywhere: solid bright
    image = window.view.base.image  # what is drawn
    assert image is not None and float(np.nanmax(image)) <= FLOOR_DB + 1e-3


def test_closing_during_a_separation_asks_before_the_run_is_lost(qtbot, window, long_clip):
    from tests.gui.conftest import answer_next_question, load

    load(qtbot, window, long_clip)
    s = window.session
    with qtbot.waitSignal(s.separationProgress, timeout=120_000):
        window.separate()
    seen: list = []
    answer_next_question("Keep Separating", seen)
    window.close()
    assert window.isVisible() and s.separating  # kept: it was silently discarded before
    assert "Stop separating long.wav before closing the window?" in seen[0][0]
    assert seen[0][1] == "Keep Separating"  # the default
