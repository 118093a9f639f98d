"""What the window says when something cannot be done (issue 23, item 9): each message
names the file or host and says what to do, in the window's own words. Real window,
real dialogs, real servers on 127.0.0.1, a real truncated file, a machine without sound."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextDocumentFragment

from stemsplit.core.models import store as model_store
from stemsplit.gui.models.download_dialog import ModelDownloadDialog
from tests._model_archives import ServerState, archive_server
from tests.gui.conftest import load

TIMEOUT_MS = 60_000


def _plain(label) -> str:
    return QTextDocumentFragment.fromHtml(label.text()).toPlainText().replace("\xa0", " ")


def test_a_truncated_wav_says_so_in_the_window(qtbot, window, tmp_path, demo_audio):
    """A 10-s WAV cut to its first second opened as 1 s with no word in the window; the
    command line already said "holds only ... of the ... its header promises"."""
    path = tmp_path / "cut short.wav"
    sr = demo_audio.sample_rate
    sf.write(path, np.tile(demo_audio.samples, 2)[:, :10 * sr].T, sr, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[:44 + 4 * sr])  # header (it still promises 10 s) and 1 s of frames
    load(qtbot, window, path)
    assert window.session.audio.duration_s == pytest.approx(1.0, abs=0.01)
    text = window.banner.text()
    assert window.banner.isVisible() and "cut short.wav" in text
    assert "holds only 1.0 s of the 10.0 s its header promises" in text
    assert "truncated" in text and "what is there is used" in text


def test_play_without_an_output_device_says_what_to_check(qtbot, window, short_clip):
    """No PulseAudio here (no null sink in this test): playback cannot start, the rest works."""
    from stemsplit.playback import devices

    if devices.list_output_devices(refresh=True):
        pytest.skip("this machine has an audio output device")
    load(qtbot, window, short_clip)
    transport = window.playback.transport
    qtbot.mouseClick(transport.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=5_000)
    text = window.banner.text()
    assert text.startswith("No audio output device was found")
    assert "playback is unavailable" in text
    assert "separating, editing and exporting still work" in text
    assert "connected and enabled" in text and "sound settings" in text
    assert "PulseAudio or PipeWire" in text and "Playback > Output Device" in text
    assert not window.playback.player.is_playing


def test_a_server_that_answers_with_a_web_page_is_named(qtbot, monkeypatch):
    """A captive portal or proxy answering 200 with HTML: the dialog said "The download did
    not work (Expecting value: line 1 column 1 (char 0))"."""
    page = b"<html><body>Please sign in to the hotel Wi-Fi</body></html>"
    state = ServerState(files={"/checksum.json": page, "/4stems.tar.gz": page})
    with archive_server(state) as url:
        monkeypatch.setenv(model_store.BASE_URL_ENV, url)
        dialog = ModelDownloadDialog("4stems", title="4 stems")
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.mouseClick(dialog.download_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: dialog.download_button.text() == "Retry", timeout=TIMEOUT_MS)
    text = _plain(dialog.message)
    assert "Expecting value" not in text
    assert "The server 127.0.0.1 answered, but not with a model" in text
    assert "Check the address" in text and "Retry" in text and "later" in text
    assert "Install from file…" in text
    assert [f.text() for f in dialog.url_box.fields] == [url + "4stems.tar.gz"]
    assert not model_store.is_installed("4stems")


def test_one_file_for_a_bag_is_answered_in_the_dialogs_words(qtbot, tmp_path):
    """htdemucs_ft is four files; one chosen said "pass the folder that holds ..." (the
    command line's words) in the dialog."""
    from stemsplit.core.models.htdemucs import pretrained

    files = pretrained.get("htdemucs_ft").files
    one = tmp_path / files[0]
    one.write_bytes(b"just one of them")
    dialog = ModelDownloadDialog("htdemucs_ft", title="htdemucs_ft")
    qtbot.addWidget(dialog)
    dialog.show()
    checkbox = dialog.licence.checkbox
    qtbot.mouseClick(checkbox, Qt.LeftButton, pos=QPoint(8, checkbox.height() // 2))
    dialog.install_from_file([one])
    qtbot.waitUntil(lambda: dialog.download_button.text() == "Retry", timeout=TIMEOUT_MS)
    text = _plain(dialog.message)
    assert "pass the folder" not in text
    assert f"htdemucs_ft needs all {len(files)} of its files" in text
    assert f"Install from files… › Choose the {len(files)} Files…" in text
    assert "Choose the Folder That Holds Them…" in text
    assert all(f in text for f in files)


@pytest.fixture
def tiny_disk(tmp_path):
    from tests.core.test_write_messages import mounted_tmpfs

    with mounted_tmpfs(tmp_path / "tiny", "512k") as where:
        yield where


def test_saving_a_project_on_a_full_disk_names_the_folder_and_the_space(
        qtbot, window, short_clip, tiny_disk):
    """It said "Cannot save p.stemsplit: No space left on device"."""
    from tests.gui.test_mask_editing import ready, separate

    separate(qtbot, window, short_clip)
    ready(qtbot, window)
    assert not window.projects.save_to(tiny_disk / "p.stemsplit")
    text = window.banner.text()
    assert text.startswith("Cannot save p.stemsplit: the disk is full"), text
    assert f"free in {tiny_disk})" in text and "MB needed" in text
    assert "No space left on device" not in text
    assert list(tiny_disk.iterdir()) == []
