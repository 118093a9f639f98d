"""Crash recovery in the real app (issue 23, item 1): edit, SIGKILL, start again, restore.

The app runs in subprocesses under a temporary STEMSPLIT_HOME. The first one separates
a short clip, edits it (apply, undo, apply again, a mixer change, a loop) and prints
when its snapshot is durable; it is then SIGKILLed. The second one is offered the
snapshot, restores it, and its stems must equal the first one's bit for bit.
"""

from __future__ import annotations

import json
import signal
import sys

import numpy as np
import pytest

from tests.gui.app_driver import read_until, start_app

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]

EDIT_AND_WAIT = r"""
def drive():
    from stemsplit.core.editing.editor import Edit, Region

    clip, out = sys.argv[2], Path(sys.argv[3])
    w = window()
    s, applier = w.session, w.edits.applier
    wait_until(lambda: s.engine_ready)
    w.open_path(clip)
    wait_until(lambda: s.audio is not None)
    w.separate()
    wait_until(lambda: s.stems is not None and applier.ready_now and not s.separating)
    app.processEvents()

    def step(do):
        done = []
        applier.changed.connect(lambda: done.append(1))
        do()
        wait_until(lambda: done)

    step(lambda: applier.apply(Edit(Region.rect(0.5, 1.5, 1000, 6000), "assign", "vocals")))
    step(lambda: applier.apply(Edit(Region.rect(2.0, 3.0, 200, 900), "remove", "vocals")))
    step(applier.undo)
    step(lambda: applier.apply(Edit(Region.rect(1.0, 3.5, 3000, 9000, feather=0.3),
                                    "scale", "accompaniment", 0.5)))
    player = w.playback.player
    player.set_gain_db("accompaniment", -4.5)
    player.set_mute("vocals", True)
    w.view.set_loop((1.0, 2.5))
    w.playback._on_loop_drawn(1.0, 2.5)
    wait_until(lambda: w.recovery._last_settings is not None
               and w.recovery._last_settings[1].get("region_s"), timeout=10)
    assert w.recovery.flush()
    for name, a in s.stems.stems.items():
        np.save(out / f"expected_{name}.npy", a)
    say("title " + w.windowTitle())
    say("ready")
    wait_until(lambda: False, timeout=600)  # killed here
"""

RESTORE = r"""
def drive():
    out = Path(sys.argv[2])
    w = window()
    s, applier = w.session, w.edits.applier
    wait_until(lambda: s.stems is not None and applier.ready_now and applier.state.has_edits)
    app.processEvents()
    for name, a in s.stems.stems.items():
        np.save(out / f"restored_{name}.npy", a)
    p = w.playback.player
    info = {"gain": p.gain_db("accompaniment"), "mute": p.is_muted("vocals"),
            "loop": [x / p.sample_rate for x in p.loop_region], "looping": p.loop_enabled,
            "title": w.windowTitle(), "undo": applier.state.undo_label,
            "song": str(s.audio.path)}
    say(json.dumps(info))
    say("restored")
    answer("Discard")  # closing asks: the restored work is unsaved
    w.close()
"""


def test_sigkill_then_restore_gives_the_same_edited_stems(tmp_path, short_clip):
    home, out = tmp_path / "home", tmp_path / "out"
    out.mkdir()
    first = start_app(EDIT_AND_WAIT, home, str(short_clip), str(out))
    try:
        lines = read_until(first, "ready")
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    assert any(line.startswith("title short clip.wav*") for line in lines), lines
    folders = [p for p in (home / "data" / "recovery").iterdir() if p.is_dir()]
    assert len(folders) == 1 and (folders[0] / "journal.jsonl").is_file()

    second = start_app("import json\n" + RESTORE.replace("def drive():", "def drive():\n"
                       "    answer('Restore')", 1), home, str(out))
    try:
        lines = read_until(second, "restored")
        _, err = second.communicate(timeout=60)
    finally:
        if second.poll() is None:
            second.kill()
    assert any("did not close normally" in line and "short clip.wav" in line
               for line in lines), lines
    info = json.loads(lines[-2])
    for name in ("vocals", "accompaniment"):
        np.testing.assert_array_equal(np.load(out / f"restored_{name}.npy"),
                                      np.load(out / f"expected_{name}.npy"))
    assert info["gain"] == pytest.approx(-4.5) and info["mute"]
    assert info["loop"] == pytest.approx([1.0, 2.5], abs=1e-3) and info["looping"]
    assert info["title"].startswith("short clip.wav*"), info  # unsaved until saved
    assert info["undo"].startswith("Scale accompaniment"), info
    assert info["song"] == str(short_clip)
    assert second.returncode == 0, err
    # A clean quit (the user discarded) clears the snapshot: nothing is offered again.
    assert [p for p in (home / "data" / "recovery").iterdir() if p.name != "damaged"] == []
