"""The window at its minimum size (860x560) and at 1024x640: nothing elided, nothing
overlapping (issue 20.3). Screenshots of both are kept next to the test's output."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QWidget

from tests.gui.test_mask_editing import separate


def global_rect(widget: QWidget) -> QRect:
    return QRect(widget.mapToGlobal(widget.rect().topLeft()), widget.rect().size())


def assert_nothing_cut(bar: QWidget, neighbours: list[QWidget], where: str) -> None:
    outer = global_rect(bar)
    shown = [w for w in bar.findChildren(QWidget) if w.isVisibleTo(bar)
             and isinstance(w, (QLabel, QAbstractButton, QComboBox))]
    assert shown, where
    for w in shown:
        name = w.text() if hasattr(w, "text") else w.currentText()
        need = w.minimumSizeHint() if isinstance(w, QComboBox) else w.sizeHint()
        assert w.width() >= need.width(), f"{where}: {name!r} is {w.width()} px of {need.width()}"
        assert outer.contains(global_rect(w)), f"{where}: {name!r} sticks out of the tool bar"
    for other in neighbours:
        assert not outer.intersects(global_rect(other)), f"{where}: overlaps {other}"


def test_edit_tool_bar_fits_at_the_minimum_size_and_at_1024(qtbot, window, short_clip,
                                                           tmp_path):
    bar = window.edits.tools
    window.resize(860, 560)
    separate(qtbot, window, short_clip)
    qtbot.waitUntil(lambda: bar.buttons["brush"].isEnabled(), timeout=30_000)
    for size in ((860, 560), (1024, 640)):
        window.resize(*size)
        qtbot.waitUntil(lambda s=size: (window.width(), window.height()) == s, timeout=5_000)
        qtbot.wait(100)
        window.grab().save(str(tmp_path / f"window-{size[0]}x{size[1]}.png"))
        assert_nothing_cut(bar, [window.stem_list, window.view], f"{size}")
        assert not bar.hint.isVisible() and bar.target.currentText() == "Vocals"
        # The spectrogram (its time ruler included) sits between the bar and the overview.
        view = global_rect(window.view)
        assert not view.intersects(global_rect(window.overview)), size
        assert view.height() >= window.view.minimumHeight(), size


def test_before_separation_the_tool_bar_says_what_to_do(qtbot, window, short_clip):
    from tests.gui.conftest import load

    window.resize(860, 560)
    load(qtbot, window, short_clip)
    bar = window.edits.tools
    qtbot.wait(100)
    assert bar.hint.isVisible() and "Separate" in bar.hint.text()
    assert not bar.target.isVisible() and not bar.buttons["brush"].isEnabled()
    assert_nothing_cut(bar, [window.stem_list, window.view], "before separation")
