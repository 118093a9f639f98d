"""Where file dialogs start (issue 20.2) and how "what you hear" is named (20.8), in the window.

The demo song lives inside the installation (site-packages): nothing is proposed there.
"""

from __future__ import annotations

import numpy as np
import soundfile as sf
from PySide6.QtCore import Qt

from stemsplit.gui.common import folders
from tests.gui.conftest import load

RUN_TIMEOUT_MS = 180_000


def test_demo_song_defaults_to_music_and_solo_export_is_named_for_it(
        qtbot, null_sink, window, demo_path, short_clip, tmp_path, monkeypatch):
    music = tmp_path / "home" / "Music"
    music.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_MUSIC_DIR", str(music))
    assert folders.inside_installation(demo_path)

    load(qtbot, window, demo_path)
    with qtbot.waitSignal(window.session.separationFinished, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(window.run_panel.separate, Qt.LeftButton)
    assert window.projects.suggested_path() == music / "audio_example.stemsplit"
    assert window.projects.open_folder() == music

    player = window.playback.player
    player.set_solo("vocals", True)
    window.export_stems()
    dialog = window.export_dialog
    assert dialog.folder_edit.text() == str(music)
    assert "vocals alone" in dialog.mix_check.text()
    dialog.mix_check.setChecked(True)
    for box in dialog.stem_checks.values():
        box.setChecked(False)
    dialog.depth_combo.setCurrentIndex(dialog.depth_combo.findData("32f"))
    assert dialog.preview.text() == "audio_example - vocals (solo).wav"
    with qtbot.waitSignal(dialog.finished_export, timeout=60_000):
        dialog.export_button.click()
    heard = sf.read(music / "audio_example - vocals (solo).wav", dtype="float32")[0].T
    np.testing.assert_array_equal(heard, window.session.stems.stems["vocals"])
    if dialog.result_box is not None:
        dialog.result_box.close()

    # A project saved elsewhere: Open Project starts there next time, and the export
    # dialog remembers its own last folder.
    saved = tmp_path / "projects"
    saved.mkdir()
    assert window.projects.save_to(saved / "demo.stemsplit")
    window.projects.path = None
    assert window.projects.open_folder() == saved
    assert folders.suggest("export", window.prefs.settings) == music

    # A song in a folder the user can write to: its project goes beside it.
    load(qtbot, window, short_clip)
    assert window.projects.suggested_path() == short_clip.with_suffix(".stemsplit")


def test_song_folder_only_when_writable_and_outside_the_installation(tmp_path, monkeypatch):
    from stemsplit.settings import Settings

    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_MUSIC_DIR", str(home / "no Music here"))
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(home / "Documents"))
    settings = Settings(tmp_path / "settings.json")
    locked = tmp_path / "read-only"
    locked.mkdir()
    song = locked / "song.wav"
    song.write_bytes(b"")
    locked.chmod(0o555)
    try:
        import os

        if os.access(locked, os.W_OK):  # running as root: every folder is writable
            assert folders.song_folder(song) == locked
        else:
            assert folders.song_folder(song) is None
            assert folders.suggest("export", settings, song) == home / "Documents"
    finally:
        locked.chmod(0o755)
    assert folders.suggest("project", settings, tmp_path / "x.wav", song_first=True) == tmp_path
    folders.remember("export", settings, tmp_path)
    assert folders.suggest("export", settings, folders.__file__) == tmp_path
    (tmp_path / "gone").mkdir()
    folders.remember("open", settings, tmp_path / "gone")
    (tmp_path / "gone").rmdir()
    assert folders.suggest("open", settings) == home / "Documents"  # a vanished folder
