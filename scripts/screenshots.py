"""Screenshots of the real window: empty, demo song loaded, separated, one stem alone, editing,
playing, and the whole window at 1024x640.

Run under a display, e.g.::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots.py

Writes PNGs to docs/ (or the folder given with --out) and prints their paths.
Settings are redirected to a temporary folder so the user's own are untouched.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def wait_until(app, condition, timeout_s: float) -> bool:
    """Run the event loop until ``condition()`` holds or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def settle(app, seconds: float = 0.4) -> None:
    wait_until(app, lambda: False, seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--song", type=Path, default=None, help="default: the demo song")
    parser.add_argument("--size", default="1600x1000")
    args = parser.parse_args()
    os.environ.setdefault("STEMSPLIT_HOME", tempfile.mkdtemp(prefix="stemsplit-shots-"))
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest

    from stemsplit.gui.app import create_app
    from stemsplit.gui.main_window import MainWindow

    sink = _null_sink()
    app = create_app()
    window = MainWindow()
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()
    saved: list[Path] = []

    def shot(name: str) -> None:
        settle(app)
        path = args.out / f"screenshot-{name}.png"
        window.grab().save(str(path))
        saved.append(path)

    if not wait_until(app, lambda: window.session.engine_ready, 60):
        print("the engine did not report its models", file=sys.stderr)
        return 1
    shot("empty")

    if args.song:
        window.open_path(args.song)
    else:
        window.open_demo()
    if not wait_until(app, lambda: window.session.audio is not None, 60):
        print(f"the song did not load: {window.banner.text()}", file=sys.stderr)
        return 1
    shot("loaded")

    window.separate()
    # A song longer than one chunk (~12 s) shows its masks arriving mid-run.
    if wait_until(app, lambda: window.session.masks is not None
                  and window.session.masks.covered().any() or not window.session.separating, 600) \
            and window.session.separating:
        shot("separating")
    if not wait_until(app, lambda: window.session.stems is not None
                      or not window.session.separating, 600):
        print("separation did not finish", file=sys.stderr)
        return 1
    if window.session.stems is None:
        print(f"separation failed: {window.banner.text()}", file=sys.stderr)
        return 1
    # Hover over the middle of the spectrogram so the status bar shows a readout.
    viewport = window.view.viewport()
    QTest.mouseMove(viewport, QPoint(viewport.width() // 2, viewport.height() // 3))
    shot("separated")

    window.set_view_mode(window.session.stem_names[0])
    shot(f"{window.session.stem_names[0]}-only")
    window.set_view_mode()
    if not _edit_hi_hats_out_of_the_vocals(app, window):
        print("the mask edit did not apply", file=sys.stderr)
        return 1
    shot("editing")
    window.edits.tools.set_tool("pointer")
    if window.playback is not None:
        # Zoomed in, a loop drawn over a phrase, vocals soloed, playing.
        window.view.set_x_range(2.0, 6.0)
        window.view.set_loop((3.0, 5.0))
        window.view.loopChanged.emit(3.0, 5.0)
        window.playback.mixer.strips[window.session.stem_names[0]].solo.click()
        window.playback.player.play()
        settle(app, 1.2)
        shot("playing")
        window.playback.player.pause()
    # A small window (issue 20.3): everything must still fit. The brush shows its ring.
    window.resize(1024, 640)
    window.view.fit()
    window.edits.tools.set_tool("brush")
    settle(app)
    QTest.mouseMove(viewport, QPoint(viewport.width() // 2, viewport.height() // 2))
    QTest.mouseMove(viewport, QPoint(viewport.width() // 2 + 4, viewport.height() // 2))
    shot("1024x640")
    window.edits.tools.set_tool("pointer")
    window.projects.set_dirty(False)  # the demo edit needs no "save?" question
    window.close()
    if sink is not None:
        sink.cleanup()
    for path in saved:
        print(path)
    return 0


def _edit_hi_hats_out_of_the_vocals(app, window) -> bool:
    """A rectangle edit as a user makes it: the cymbals' band taken out of the vocals."""
    from stemsplit.core.editing.edits import Edit, Region

    if not wait_until(app, lambda: window.edits.editor is not None, 60):
        return False
    tools, vocals = window.edits.tools, window.session.stem_names[0]
    tools.set_tool("rectangle")
    tools.set_target(vocals)
    tools.operation.setCurrentIndex(tools.operation.findData("remove"))
    applied: list[bool] = []
    window.edits.applier.changed.connect(lambda: applied.append(True))
    window.edits.applier.apply(Edit(Region.rect(2.0, 6.0, 6000.0, 16000.0), "remove", vocals))
    return wait_until(app, lambda: bool(applied), 60)


def _null_sink():
    """A private null sound card (from the tests) so playback works on a headless display."""
    if os.environ.get("PULSE_SERVER"):
        return None
    from tests.playback.pulse_sink import NullSink

    if NullSink.available():
        return None
    sink = NullSink(name="stemsplit_screenshots")
    sink.start()
    os.environ.update(sink.env())
    from stemsplit.playback.devices import rescan

    rescan()  # PortAudio looks for devices once; make it see this one
    return sink


if __name__ == "__main__":
    sys.exit(main())
