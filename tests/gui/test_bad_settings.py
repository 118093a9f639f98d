"""A hostile settings.json never stops the window: it starts, loads, separates and exports."""

from __future__ import annotations

import json
import math

import pytest

from tests.gui.conftest import load

RUN_TIMEOUT_MS = 180_000

# Every key the app reads, each with a value of the wrong type, range or shape.
HOSTILE = {
    "gui.geometry": "01d9d0cbé≠ß",           # non-ASCII: was .encode("ascii") at start-up
    "gui.model": {"name": ["2stems"]},         # unhashable: was a TypeError in a slot
    "gui.device": ["cuda"],
    "gui.scale": 12,
    "gui.opacity": math.nan,                   # was round(nan) -> ValueError at start-up
    "gui.follow_playhead": "no",
    "gui.recent_files": [{"path": 1}, None, 5, "", "/x\x00y",
                         *(f"/nowhere/song {i}.wav" for i in range(20_000))],
    "playback.device": {"index": 3},
    "export.format": ["wav"],
    "export.bit_depth": 24.5,
    "export.rate": math.inf,
    "export.folder": {"path": "/tmp"},
    "export.pattern": ["<song>"],
    "export.unchecked_stems": {"vocals": True},  # was set(dict) -> keys; or a crash for 5
    "export.mix": "yes",
    "some.future.key": [[[[["kept"]]]]],
}


def _files():
    nested = "[" * 100_000 + "]" * 100_000
    return {
        "wrong values": json.dumps(HOSTILE),   # json.dumps writes NaN and Infinity
        "nested 100k deep": '{"gui.opacity": ' + nested + "}",
        "2 MB": json.dumps({"gui.scale": "linear", "pad": "x" * (2 << 20)}),
        "unhashable stems": json.dumps({"export.unchecked_stems": [["vocals"], {"a": 1}, 5]}),
    }


@pytest.mark.parametrize("kind", list(_files()))
def test_window_survives_hostile_settings(qtbot, app, kind, short_clip):
    from stemsplit import settings
    from stemsplit.gui.export.dialog import ExportDialog
    from stemsplit.gui.main_window import MainWindow

    path = settings.config_dir() / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_files()[kind], encoding="utf-8")

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1200, 760)
    window.show()
    qtbot.waitUntil(lambda: window.session.engine_ready, timeout=60_000)
    assert window.session.model_name in {m.name for m in window.session.models}
    assert window.session.device_name == "auto"
    assert window.view.opacity == 0.75
    assert window.stem_list.scale.currentData() in ("log", "linear")
    recent = [a for a in window.recent_menu.actions() if a.text() and not a.isSeparator()]
    assert len(recent) <= 11  # ten files and "Clear Recent"

    load(qtbot, window, short_clip)
    with qtbot.waitSignal(window.session.separationFinished, timeout=RUN_TIMEOUT_MS):
        window.separate()
    window.actions["export"].trigger()
    dialog = window.export_dialog
    assert isinstance(dialog, ExportDialog) and dialog.isVisible()
    assert dialog.format_combo.currentData() == "wav"
    # No usable remembered depth: 24-bit, or 32-bit float for a song above full scale.
    assert dialog.depth_combo.currentData() == ("32f" if dialog.peak > 1.0 else "24")
    assert dialog.rate_combo.currentData() == 0
    assert dialog.folder_edit.text() == str(short_clip.parent)
    assert all(box.isChecked() for box in dialog.stem_checks.values())
    assert dialog.export_button.isEnabled()
    dialog.reject()

    window.projects.set_dirty(False)  # the finished run is unsaved work: closing would ask
    window.close()
    saved = json.loads(path.read_text(encoding="utf-8"))  # what it saved reads back
    assert saved["gui.recent_files"][0] == str(short_clip.resolve())
    assert len(saved["gui.recent_files"]) <= 10
    assert isinstance(saved["gui.geometry"], str)
    if kind == "wrong values":
        assert saved["some.future.key"] == [[[[["kept"]]]]]  # unknown keys are kept
