"""The model download dialog against a local HTTP server serving a real Spleeter archive."""

from __future__ import annotations

import socket
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from stemsplit.core import model_store
from stemsplit.gui.model_download_dialog import ModelDownloadDialog, format_size
from tests._model_archives import ServerState, archive_server, lite_tarball, release_files

TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def tarball() -> bytes:
    return lite_tarball()


@pytest.fixture
def release(tarball, monkeypatch):
    state = ServerState(files=release_files({"2stems": tarball}))
    with archive_server(state) as url:
        monkeypatch.setenv(model_store.BASE_URL_ENV, url)
        yield state


@pytest.fixture
def dialog(qtbot):
    dlg = ModelDownloadDialog("2stems", title="2 stems (test archive)", size_mb=73)
    qtbot.addWidget(dlg)
    dlg.show()
    yield dlg
    if dlg.thread is not None:
        dlg.thread.cancel.set()
        dlg.thread.wait()


def test_offer_before_anything_happens(dialog):
    assert "not installed" in dialog.heading.text()
    assert "about 73 MB" in dialog.explain.text()
    assert dialog.download_button.isEnabled() and not dialog.running
    assert not model_store.is_installed("2stems")


def test_download_shows_size_and_speed_and_installs(qtbot, dialog, release, tarball):
    gate = threading.Event()
    release.hold["/2stems.tar.gz"] = (1 << 20, gate)  # pause mid-way to read the label
    try:
        qtbot.mouseClick(dialog.download_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: "of " in dialog.detail.text(), timeout=TIMEOUT_MS)
        text = dialog.detail.text()
        assert f"of {format_size(len(tarball))}" in text and "/s" in text
        assert dialog.bar.maximum() > 0 and dialog.bar.value() < dialog.bar.maximum()
    finally:
        gate.set()
    with qtbot.waitSignal(dialog.installed, timeout=TIMEOUT_MS) as blocker:
        pass
    assert blocker.args == ["2stems"]
    assert dialog.result() == QDialog.Accepted
    assert model_store.is_installed("2stems")
    assert dialog.bar.value() == dialog.bar.maximum()


def test_cancel_during_download_installs_nothing(qtbot, dialog, release):
    gate = threading.Event()
    release.hold["/2stems.tar.gz"] = (1 << 20, gate)
    try:
        qtbot.mouseClick(dialog.download_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: "of " in dialog.detail.text(), timeout=TIMEOUT_MS)
        assert not dialog.download_button.isEnabled()
        qtbot.mouseClick(dialog.cancel_button, Qt.LeftButton)
        assert dialog.detail.text() == "Cancelling…"
        assert dialog.isVisible()  # stays until the worker has really stopped
    finally:
        gate.set()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=TIMEOUT_MS)
    assert dialog.result() == QDialog.Rejected
    assert not model_store.is_installed("2stems")
    assert not model_store.partial_path("2stems").exists()


def test_offline_failure_then_install_from_file(qtbot, dialog, tmp_path, tarball, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(model_store.BASE_URL_ENV, f"http://127.0.0.1:{port}/")
    qtbot.mouseClick(dialog.download_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.download_button.text() == "Retry", timeout=TIMEOUT_MS)
    assert "stemsplit models install 2stems --from FILE" in dialog.message.text()
    assert dialog.from_file_button.isEnabled() and dialog.cancel_button.text() == "Close"
    assert dialog.isVisible()

    archive = tmp_path / "2stems.tar.gz"
    archive.write_bytes(tarball)
    with qtbot.waitSignal(dialog.installed, timeout=TIMEOUT_MS):
        dialog.install_from_file(archive)
    assert model_store.is_installed("2stems")


def test_wrong_checksum_is_shown_and_retry_is_offered(qtbot, dialog, release):
    release.files["/checksum.json"] = b'{"2stems": "' + b"0" * 64 + b'"}'
    qtbot.mouseClick(dialog.download_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.download_button.text() == "Retry", timeout=TIMEOUT_MS)
    assert "damaged or not the published one" in dialog.message.text()
    assert not model_store.is_installed("2stems")
    qtbot.mouseClick(dialog.cancel_button, Qt.LeftButton)
    assert not dialog.isVisible() and dialog.result() == QDialog.Rejected
