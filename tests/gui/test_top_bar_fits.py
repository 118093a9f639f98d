"""At 1024x640 a long song name and the model's title end in "…" instead of being cut
off mid-letter, and the edit tool bar's captions sit on the middle of its buttons (seen in
screenshots)."""

from __future__ import annotations

import shutil

from PySide6.QtWidgets import QLabel

from tests.gui.conftest import load
from tests.gui.test_small_window import global_rect


def test_a_long_song_name_is_elided_not_cut_and_captions_are_centred(qtbot, window, short_clip,
                                                                   tmp_path):
    name = "A rather long song title, live at the Village Vanguard (take 3).wav"
    song = tmp_path / name
    shutil.copy(short_clip, song)
    window.resize(1024, 640)
    qtbot.waitUntil(lambda: window.width() == 1024, timeout=5_000)
    load(qtbot, window, song)
    qtbot.wait(100)
    label = window.run_panel.song
    assert label.toolTip() == name and label.full_text == name
    shown = label.text()
    assert shown != name and "…" in shown and shown.endswith(".wav")
    assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
    caption = next(c for c in window.run_panel.findChildren(QLabel) if c.text() == "Model")
    assert not global_rect(label).intersects(global_rect(caption))
    # The model box shows its entry elided too (the popup and the tooltip have it all).
    box = window.run_panel.model
    box_shown = box.shown_text()
    assert box_shown.endswith("…") and box_shown[:-1] in box.currentText()
    assert box.fontMetrics().horizontalAdvance(box_shown) <= box.edit_rect().width()
    box.grab()  # paints through the eliding paintEvent without error
    # Wider: more of the name comes back.
    window.resize(1600, 1000)
    qtbot.waitUntil(lambda: len(label.text()) > len(shown) + 10, timeout=5_000)
    assert box.shown_text() == box.currentText()

    tools = window.edits.tools
    assert tools.hint.isVisible()
    hint, button = global_rect(tools.hint), global_rect(tools.buttons["pointer"])
    assert abs(hint.center().y() - button.center().y()) <= 1
