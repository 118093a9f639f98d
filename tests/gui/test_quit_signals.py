"""SIGTERM closes the window like its close button: a running export is cancelled and its
temporary files removed, and the app exits with 128 + 15 (issue 10, item 5).

The app runs for real (``stemsplit.gui.app.run``) in a subprocess; a timer in it
starts an export through the real export dialog, and the test signals it while
the export writes.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

APP = r"""
import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer

from stemsplit.core.stems import StemSet
from stemsplit.gui.app import create_app, run

out = Path(sys.argv[1])
app = create_app()


def start_export():
    from stemsplit.gui.export.dialog import ExportDialog, _select
    from stemsplit.gui.main_window import MainWindow
    from stemsplit.settings import Settings

    window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
    rng = np.random.default_rng(0)
    n = 44100 * 240  # long enough that the export is still running when the signal comes
    stems = StemSet(44100, {s: 0.1 * rng.standard_normal((2, n), dtype=np.float32)
                            for s in ("vocals", "accompaniment")}, model="2stems")
    dialog = ExportDialog(stems, "song", Settings(out.parent / "settings.json"), parent=window)
    dialog.folder_edit.setText(str(out))
    _select(dialog.depth_combo, "16")
    _select(dialog.rate_combo, 48000)
    dialog.show()
    dialog.start_export()

    def report():
        if list(out.glob(".*.partial")):
            print("exporting", flush=True)
        else:
            QTimer.singleShot(20, report)

    report()


QTimer.singleShot(0, start_export)
sys.exit(run([]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_cancels_the_export_and_quits_cleanly(tmp_path):
    out = tmp_path / "export"
    proc = subprocess.Popen([sys.executable, "-c", APP, str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    try:
        line = proc.stdout.readline()  # blocks until the export writes (or the app dies)
        assert line.strip() == "exporting", proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert time.monotonic() - started < 30
    assert list(out.iterdir()) == []  # cancelled: no stems, no hidden .partial files


UNSAVED_THEN_SIGNALS = r"""
def drive():
    from stemsplit.core.editing.editor import Edit, Region

    w = window()
    s, applier = w.session, w.edits.applier
    wait_until(lambda: s.engine_ready)
    w.open_path(sys.argv[2])
    wait_until(lambda: s.audio is not None)
    w.separate()
    wait_until(lambda: s.stems is not None and applier.ready_now and not s.separating)
    applier.apply(Edit(Region.rect(0.5, 1.5, 1000, 6000), "assign", "vocals"))
    wait_until(lambda: applier.state.has_edits)
    app.processEvents()
    answers = ["Cancel", "Discard"]

    def click():  # the first question gets Cancel, the second Discard
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and answers:
            say("asked: " + box.text())
            button = answers.pop(0)
            next(b for b in box.buttons() if b.text().replace("&", "") == button).click()
        QTimer.singleShot(20, click)
    click()
    say("edited")
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_a_signal_with_unsaved_edits_asks_and_cancel_keeps_the_app_open(tmp_path, short_clip,
                                                                         sig):
    """Issue 23, item 2: the box appeared, Cancel was answered, and the app quit anyway."""
    from tests.gui.app_driver import read_until, start_app

    home = tmp_path / "home"
    proc = start_app(UNSAVED_THEN_SIGNALS, home, str(short_clip))
    try:
        read_until(proc, "edited")
        journal = next((home / "data" / "recovery").glob("*/journal.jsonl"))
        proc.send_signal(getattr(signal, sig))
        line = proc.stdout.readline()
        assert line.startswith("asked: Save the mask edits of short clip.wav"), line
        time.sleep(1.5)
        assert proc.poll() is None, proc.stderr.read()  # Cancel: still running
        assert journal.read_text().count("\n") == 1  # the edit is in the snapshot meanwhile
        proc.send_signal(getattr(signal, sig))  # asked again; Discard: now it quits
        assert proc.stdout.readline().startswith("asked: Save the mask edits")
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + getattr(signal, sig), err
        assert not list((home / "data" / "recovery").glob("*/journal.jsonl"))  # clean quit
    finally:
        proc.kill()
        proc.wait(30)


DOWNLOADING = r"""
def drive():
    w = window()
    wait_until(lambda: w.session.engine_ready)
    w._choose_model("4stems")
    dialog = w.download_dialog
    dialog.start()
    wait_until(lambda: dialog.running and dialog.thread.isRunning())
    say("downloading")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_during_a_download_to_a_silent_server_quits_cleanly(tmp_path):
    """Issue 23, item 3: 'QThread: Destroyed while thread is still running', exit 134."""
    import socket

    from stemsplit.core.models.store import BASE_URL_ENV
    from tests.gui.app_driver import read_until, start_app

    silent = socket.socket()  # listens, never answers: the download waits in recv()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/releases"
    proc = start_app(DOWNLOADING, tmp_path / "home", env={BASE_URL_ENV: url})
    try:
        read_until(proc, "downloading")
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
        silent.close()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Destroyed while thread" not in err and "Fatal Python error" not in err, err
    assert took < 15, took
