"""Run the real app (``stemsplit.gui.app.run``) in a subprocess, driven by a script.

Signal and crash tests need a process of their own to kill. ``PRELUDE`` gives the
script ``window()``, ``wait_until(cond)`` (runs the event loop meanwhile),
``answer(object_name_or_text, button)`` (clicks a button of the next message box)
and ``say(text)`` (one line on stdout for the test); the script defines ``drive()``,
run once the window is up.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = r"""
import sys, time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from stemsplit.gui.app import create_app, run

app = create_app()


def window():
    from stemsplit.gui.main_window import MainWindow

    return next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))


def wait_until(cond, timeout=120.0):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            say("timeout")
            raise SystemExit(3)
        app.processEvents()
        time.sleep(0.01)


def say(text):
    print(text, flush=True)


def answer(button, seen=None):
    def click():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        if seen is not None:
            seen.append(box.text())
        say("asked: " + box.text().replace("\n", " "))
        for b in box.buttons():
            if b.text().replace("&", "") == button:
                b.click()
                return
        box.reject()
    QTimer.singleShot(0, click)
"""

EPILOGUE = r"""
QTimer.singleShot(0, lambda: drive())
sys.exit(run([]))
"""


def start_app(script: str, home: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """Start the app with ``script`` (defining ``drive()``); sys.argv[1] is ``home``."""
    environ = dict(os.environ, STEMSPLIT_HOME=str(home), QT_QPA_PLATFORM="offscreen",
                   PYQTGRAPH_QT_LIB="PySide6", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    environ.update(env or {})
    return subprocess.Popen([sys.executable, "-c", PRELUDE + script + EPILOGUE, str(home),
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, env=environ)


def read_until(proc: subprocess.Popen, marker: str) -> list[str]:
    """Lines the app printed up to and including ``marker`` (fails if it ends first)."""
    lines: list[str] = []
    while True:
        line = proc.stdout.readline()
        if not line:
            proc.wait(30)
            raise AssertionError(f"the app ended before {marker!r}: {lines}\n"
                                 f"{proc.stderr.read()}")
        lines.append(line.strip())
        if line.strip() == marker:
            return lines
        if line.strip() == "timeout":
            proc.kill()
            raise AssertionError(f"the app timed out: {lines}\n{proc.stderr.read()}")
