"""Project values that passed the reader and broke the window (issue 22, items 19-20),
in the real window: a crafted view range, an unknown model, Open Recent, the log."""

from __future__ import annotations

import json
import sys

import pytest

from stemsplit.core.project import load_project
from tests.core._projects import members, rezip, small_editor, write_small_project
from tests.gui.test_mask_editing import ready

RATE = 44100


def crafted_project(tmp_path, name: str, **manifest) -> object:
    """A real 1 s project whose manifest values are replaced by ``manifest``."""
    ed = small_editor(seconds=1.0, rate=RATE)
    good = write_small_project(tmp_path / "good.stemsplit", stems=ed.base_stems(),
                               mix=ed.mix, edits=ed.history,
                               song_path=str(tmp_path / "gone.wav"))
    files = members(good)
    m = {**json.loads(files["manifest.json"]), **manifest}
    path = tmp_path / f"{name}.stemsplit"
    path.write_bytes(rezip(files, m))
    return path


def open_project(qtbot, window, path) -> None:
    with qtbot.waitSignal(window.edits.applier.ready, timeout=60_000):
        window.open_path(path)
    ready(qtbot, window)


def test_an_astronomic_view_range_opens_inside_the_song(qtbot, window, tmp_path):
    """[-1e308, 1e308] segfaulted pyqtgraph's paint (3 runs of 3)."""
    path = crafted_project(tmp_path, "far", view={"x_range": [-1e308, 1e308], "scale": "log"},
                           mixer={"vocals": {"gain_db": "loud"},
                                  "accompaniment": {"gain_db": 1e308}})
    open_project(qtbot, window, path)
    window.repaint()
    qtbot.wait(200)  # a paint pass with the restored range
    lo, hi = window.view.x_range()
    assert 0 <= lo < hi <= window.session.audio.duration_s + 1e-6
    player = window.playback.player
    assert player.gain_db("vocals") == 0.0 and player.gain_db("accompaniment") == 0.0
    assert "reset" in window.banner.text() and "gain" in window.banner.text()


def test_an_unknown_model_does_not_stay_for_the_next_song(qtbot, window, tmp_path):
    before = window.session.model_name
    path = crafted_project(tmp_path, "unknown-model", model="no-such-model-v9")
    open_project(qtbot, window, path)
    assert window.session.stems.model == "no-such-model-v9"  # the stems say what made them
    assert window.session.model_name == before  # the next Separate uses a real model


def test_open_recent_records_the_project_not_its_song_path(qtbot, window, tmp_path):
    path = crafted_project(tmp_path, "recent", song_path="/etc/shadow")
    assert load_project(path).song_path.name == "shadow"
    open_project(qtbot, window, path)
    recent = window.prefs.recent_files()
    assert recent[0] == str(path) and "/etc/shadow" not in recent


def test_something_went_wrong_says_where_the_log_is(qtbot, window, tmp_path):
    from stemsplit import logfile
    from stemsplit.gui.app import install_excepthook

    logfile.setup()
    previous = sys.excepthook
    try:
        install_excepthook(window)
        try:
            raise RuntimeError("a slot broke")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook = previous
    text = window.banner.text()
    assert "Something went wrong: a slot broke" in text
    assert str(logfile.log_path()) in text
    assert "a slot broke" in logfile.log_path().read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _no_log_handler_left():
    yield
    import logging

    from stemsplit import logfile

    for h in list(logging.getLogger().handlers):
        if isinstance(h, (logfile._File, logfile._Stderr)):
            logging.getLogger().removeHandler(h)
            h.close()
    logfile._handler = None
