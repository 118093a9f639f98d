"""Editing the masks in the real window, with the real mouse, on a real separated song."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QPoint, QPointF, Qt

from tests.gui.conftest import answer_next_question, load

RUN_TIMEOUT_MS = 180_000


def vpos(view, seconds: float, hz: float) -> QPoint:
    """The viewport pixel showing (seconds, hz), through the view's own mapping."""
    grid = view.song.grids[view.scale]
    scene = view.vb.mapViewToScene(QPointF(seconds, grid.y_of_hz(hz)))
    return view.mapFromScene(scene)


def drag(qtbot, view, points: list[QPoint], during=None) -> None:
    """Press at the first point, move through the others, release at the last."""
    port = view.viewport()
    qtbot.mousePress(port, Qt.LeftButton, pos=points[0])
    for p in points[1:]:
        qtbot.wait(20)  # pyqtgraph drops mouse moves that come faster than a hand makes them
        qtbot.mouseMove(port, p)
        if during is not None:
            during()
    qtbot.mouseRelease(port, Qt.LeftButton, pos=points[-1])


def active(qtbot, window) -> None:
    """Shortcuts reach only the active window."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)


def key(qtbot, window, k, modifiers=Qt.NoModifier) -> None:
    """Press a key as the user does: with the window active (a run may take the focus)."""
    active(qtbot, window)
    qtbot.keyClick(window, k, modifiers)


def separate(qtbot, window, path) -> None:
    active(qtbot, window)
    load(qtbot, window, path)
    with qtbot.waitSignal(window.session.separationFinished, timeout=RUN_TIMEOUT_MS):
        window.separate()


def test_tools_are_off_until_stems_exist_and_keys_pick_them(qtbot, window, short_clip):
    tools = window.edits.tools
    active(qtbot, window)
    assert tools.tool == "pointer"
    assert not any(tools.buttons[k].isEnabled() for k in ("brush", "rectangle", "lasso"))
    load(qtbot, window, short_clip)
    key(qtbot, window, Qt.Key_B)
    assert tools.tool == "pointer" and window.view.vb.tool == "pointer"  # no stems yet
    with qtbot.waitSignal(window.session.separationFinished, timeout=RUN_TIMEOUT_MS):
        window.separate()
    assert tools.buttons["brush"].isEnabled()
    assert [tools.target.itemData(i) for i in range(tools.target.count())] == \
        window.session.stems.names
    key(qtbot, window, Qt.Key_B)
    assert tools.tool == "brush" and window.view.vb.tool == "brush"
    key(qtbot, window, Qt.Key_R)
    assert tools.tool == "rectangle"
    key(qtbot, window, Qt.Key_Escape)
    assert tools.tool == "pointer"
    key(qtbot, window, Qt.Key_R)
    key(qtbot, window, Qt.Key_V)
    assert tools.tool == "pointer"
    key(qtbot, window, Qt.Key_D)
    assert tools.tool == "lasso" and window.view.vb.tool == "lasso"
    key(qtbot, window, Qt.Key_Escape)
    assert tools.tool == "pointer"
    # L stays the loop's key (a second shortcut on it would make both dead).
    loop = window.playback.player.loop_enabled
    key(qtbot, window, Qt.Key_L)
    assert window.playback.player.loop_enabled != loop and tools.tool == "pointer"
    menu_titles = [a.text() for a in window.menuBar().actions()]
    assert menu_titles[:2] == ["&File", "&Edit"]


@pytest.mark.parametrize("scale", ["log", "linear"])
def test_rectangle_stroke_maps_the_mouse_to_seconds_and_hz(qtbot, window, short_clip, scale):
    separate(qtbot, window, short_clip)
    window.stem_list.set_scale(scale)
    view = window.view
    window.view.vb.zoom_y(0.5, view.song.grids[scale].y_of_hz(500.0))  # at any zoom
    x_before = view.x_range()
    key(qtbot, window, Qt.Key_R)
    shown = []
    strokes = []
    window.edits.strokeFinished.connect(strokes.append)
    a, b = vpos(view, 1.0, 500.0), vpos(view, 2.5, 3000.0)
    mid = QPoint((a.x() + b.x()) // 2, (a.y() + b.y()) // 2)
    drag(qtbot, view, [a, mid, b],
         during=lambda: shown.append(window.edits.preview.rect.isVisible()))
    assert shown and all(shown)  # previewed while dragging
    assert not window.edits.preview.rect.isVisible()  # gone once applied
    assert view.x_range() == pytest.approx(x_before)  # the drag did not pan
    assert len(strokes) == 1
    s = strokes[0]
    px_s, px_y = view.vb.pixel_size()
    assert s["tool"] == "rectangle" and s["stem"] == window.session.stems.names[0]
    assert s["t0"] == pytest.approx(1.0, abs=2 * px_s)
    assert s["t1"] == pytest.approx(2.5, abs=2 * px_s)
    grid = view.song.grids[scale]
    assert grid.y_of_hz(s["f0"]) == pytest.approx(grid.y_of_hz(500.0), abs=2 * px_y)
    assert grid.y_of_hz(s["f1"]) == pytest.approx(grid.y_of_hz(3000.0), abs=2 * px_y)


def test_brush_stroke_is_previewed_and_reported_in_seconds_and_hz(qtbot, window, short_clip):
    separate(qtbot, window, short_clip)
    view = window.view
    key(qtbot, window, Qt.Key_B)
    window.edits.tools.size.setValue(30)
    strokes, shown = [], []
    window.edits.strokeFinished.connect(strokes.append)
    pts = [vpos(view, t, 1000.0) for t in (0.5, 1.0, 1.5, 2.0)]
    drag(qtbot, view, pts, during=lambda: shown.append(
        len(window.edits.preview.points)))
    assert shown[-1] >= 3, shown
    (s,) = strokes
    assert s["tool"] == "brush" and len(s["points"]) >= 4
    times = [p[0] for p in s["points"]]
    assert min(times) == pytest.approx(0.5, abs=0.05) and max(times) == pytest.approx(2.0, abs=0.05)
    assert all(abs(p[1] / 1000.0 - 1) < 0.05 for p in s["points"])
    px_s, _ = view.vb.pixel_size()
    assert s["radius_s"] == pytest.approx(15 * px_s)


# -- edits applied: the exported audio, undo/redo, playback ----------------------------------



N_FFT, HOP = 4096, 1024


def export(qtbot, window, folder) -> dict[str, np.ndarray]:
    """Export every stem through the real dialog (32-bit float WAV); name -> (ch, n)."""
    window.export_stems()
    dialog = window.export_dialog
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText(str(folder))
    dialog.depth_combo.setCurrentIndex(dialog.depth_combo.findData("32f"))
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("wav"))
    with qtbot.waitSignal(dialog.finished_export, timeout=60_000) as blocker:
        dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.thread is None, timeout=10_000)
    dialog.close()
    out = {}
    for path in blocker.args[0]:
        data, _rate = sf.read(path, dtype="float32", always_2d=True)
        stem = next(n for n in window.session.stems.names if Path(path).stem.endswith(n))
        out[stem] = data.T
    return out


def band_energy(x: np.ndarray, rate: int, t0: float, t1: float, f0: float, f1: float) -> float:
    """Energy of ``x`` (ch, n) in frames centred in [t0, t1] s and bins in [f0, f1] Hz."""
    mono = x.mean(axis=0)
    window = np.hanning(N_FFT + 1)[:-1]
    starts = [int(t * rate) - N_FFT // 2 for t in np.arange(t0, t1, HOP / rate)]
    frames = np.stack([mono[s: s + N_FFT] * window for s in starts if s >= 0])
    spec = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(N_FFT, 1 / rate)
    return float(spec[:, (freqs >= f0) & (freqs <= f1)].sum())


def apply_with_mouse(qtbot, window, tool_key, points, *, stem="vocals", op="assign",
                     size=30, hardness=100, during=None) -> None:
    """Pick a tool by key, set it up in the tool bar, stroke with the mouse, wait for it."""
    tools = window.edits.tools
    key(qtbot, window, tool_key)
    tools.set_target(stem)
    tools.operation.setCurrentIndex(tools.operation.findData(op))
    tools.size.setValue(size)
    tools.hardness.setValue(hardness)
    with qtbot.waitSignal(window.edits.applier.changed, timeout=30_000):
        drag(qtbot, window.view, points, during)


def ready(qtbot, window) -> None:
    """Wait until the editor exists and the window plays and shows its live arrays."""
    def live() -> bool:
        editor, stems = window.edits.editor, window.session.stems
        return (editor is not None and not window.edits.applier.worker.busy
                and stems is not None and all(
                    stems.stems[n] is a for n, a in editor.stems().stems.items()))
    qtbot.waitUntil(live, timeout=30_000)


def check_sum(stems: dict[str, np.ndarray], mix: np.ndarray) -> None:
    np.testing.assert_allclose(sum(stems.values()), mix, atol=1e-5)


def test_rectangle_assign_moves_energy_into_vocals_there_and_nowhere_else(
        qtbot, window, short_clip, tmp_path):
    separate(qtbot, window, short_clip)
    ready(qtbot, window)
    rate = window.session.audio.sample_rate
    mix = window.session.audio.samples
    before = export(qtbot, window, tmp_path / "before")
    view = window.view
    apply_with_mouse(qtbot, window, Qt.Key_R, [vpos(view, 1.0, 2000.0),
                                               vpos(view, 1.8, 4000.0),
                                               vpos(view, 2.5, 6000.0)])
    assert window.edits.actions["undo"].text().startswith("&Undo ")
    assert "vocals" in window.edits.actions["undo"].text()
    after = export(qtbot, window, tmp_path / "after")
    check_sum(after, mix)
    inside = (1.2, 2.3, 2500.0, 5500.0)
    acc_before = band_energy(before["accompaniment"], rate, *inside)
    acc_after = band_energy(after["accompaniment"], rate, *inside)
    voc_before = band_energy(before["vocals"], rate, *inside)
    voc_after = band_energy(after["vocals"], rate, *inside)
    assert acc_before > 0 and acc_after < 0.02 * acc_before  # taken out of accompaniment
    assert voc_after > voc_before  # ... and into vocals
    # Same time, other frequencies: unchanged; far from the region in time: bit-identical.
    low = (1.2, 2.3, 150.0, 1000.0)
    assert band_energy(after["accompaniment"], rate, *low) == pytest.approx(
        band_energy(before["accompaniment"], rate, *low), rel=0.05)
    edge_a, edge_b = int(1.0 * rate) - 2 * N_FFT, int(2.5 * rate) + 2 * N_FFT
    for name in before:
        np.testing.assert_array_equal(after[name][:, :edge_a], before[name][:, :edge_a])
        np.testing.assert_array_equal(after[name][:, edge_b:], before[name][:, edge_b:])
    # The overlay was redrawn from the edited stems: vocals own the region on screen.
    masks = window.session.masks.display_masks("log")
    grid = view.song.grids["log"]
    col = int(1.75 / grid.dt)
    row = grid.row_of_y(grid.y_of_hz(4000.0))
    assert masks["vocals"][row, col] > 0.95
    # Playback mixes the edited stems at once (the player's own source arrays).
    player = window.playback.player
    names = list(player.names)
    for name, source in zip(names, player._mixer.sources, strict=True):
        np.testing.assert_array_equal(source, window.session.stems.stems[name])


def test_brush_stroke_assign_and_undo_redo_by_keys(qtbot, window, short_clip, tmp_path):
    separate(qtbot, window, short_clip)
    ready(qtbot, window)
    rate = window.session.audio.sample_rate
    base = {n: a.copy() for n, a in window.session.stems.stems.items()}
    view = window.view
    window.playback.mixer.strips["vocals"].solo.click()  # listening to the vocals alone
    apply_with_mouse(qtbot, window, Qt.Key_B,
                     [vpos(view, t, 1000.0) for t in (1.0, 1.5, 2.0, 2.5)], size=24)
    edited = {n: a.copy() for n, a in window.session.stems.stems.items()}
    check_sum(edited, window.session.audio.samples)
    band = (1.3, 2.2, 900.0, 1100.0)
    assert band_energy(edited["accompaniment"], rate, *band) < 0.05 * band_energy(
        base["accompaniment"], rate, *band)
    high = (1.3, 2.2, 4000.0, 8000.0)  # far above the brush: untouched
    assert band_energy(edited["accompaniment"], rate, *high) == pytest.approx(
        band_energy(base["accompaniment"], rate, *high), rel=0.02)
    assert window.playback.player.is_solo("vocals")  # the mixer kept its settings
    # Ctrl+Z takes it back exactly; Ctrl+Shift+Z and Ctrl+Y do it again.
    with qtbot.waitSignal(window.edits.applier.changed, timeout=30_000):
        key(qtbot, window, Qt.Key_Z, Qt.ControlModifier)
    for name in base:
        np.testing.assert_array_equal(window.session.stems.stems[name], base[name])
    assert window.edits.actions["redo"].isEnabled()
    with qtbot.waitSignal(window.edits.applier.changed, timeout=30_000):
        key(qtbot, window, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    for name in base:
        np.testing.assert_array_equal(window.session.stems.stems[name], edited[name])
    with qtbot.waitSignal(window.edits.applier.changed, timeout=30_000):
        key(qtbot, window, Qt.Key_Z, Qt.ControlModifier)
    with qtbot.waitSignal(window.edits.applier.changed, timeout=30_000):
        key(qtbot, window, Qt.Key_Y, Qt.ControlModifier)
    for name in base:
        np.testing.assert_array_equal(window.session.stems.stems[name], edited[name])
    # Clear All Edits goes back to the network's stems.
    with qtbot.waitSignal(window.edits.applier.changed, timeout=30_000):
        window.edits.actions["clear_all"].trigger()
    for name in base:
        np.testing.assert_array_equal(window.session.stems.stems[name], base[name])
    assert window.playback.player.is_solo("vocals")


def test_lasso_assign_moves_energy_inside_the_outline_only(qtbot, window, short_clip, tmp_path):
    separate(qtbot, window, short_clip)
    ready(qtbot, window)
    rate = window.session.audio.sample_rate
    before = export(qtbot, window, tmp_path / "before")
    view = window.view
    view.vb.zoom_y(0.7, view.song.grids["log"].y_of_hz(3000.0))  # at any zoom
    # An L drawn free-hand: the corner 1.7-2.6 s x 3-7 kHz is outside it.
    outline = [(1.0, 1500.0), (2.6, 1500.0), (2.6, 3000.0), (1.7, 3000.0), (1.7, 7000.0),
               (1.0, 7000.0)]
    strokes, shown = [], []
    window.edits.strokeFinished.connect(strokes.append)
    apply_with_mouse(qtbot, window, Qt.Key_D, [vpos(view, t, hz) for t, hz in outline],
                     during=lambda: shown.append(window.edits.preview.outline.isVisible()))
    assert shown and all(shown) and not window.edits.preview.outline.isVisible()
    (s,) = strokes
    assert s["tool"] == "lasso" and len(s["points"]) == len(outline)
    for (t, hz), (st, shz) in zip(outline, s["points"], strict=True):
        assert st == pytest.approx(t, abs=0.02) and shz == pytest.approx(hz, rel=0.02)
    assert "vocals" in window.edits.actions["undo"].text()
    after = export(qtbot, window, tmp_path / "after")
    check_sum(after, window.session.audio.samples)
    for inside in ((1.2, 2.4, 1700.0, 2700.0), (1.15, 1.55, 3500.0, 6500.0)):  # foot, leg
        acc_before = band_energy(before["accompaniment"], rate, *inside)
        assert acc_before > 0
        assert band_energy(after["accompaniment"], rate, *inside) < 0.02 * acc_before
        assert band_energy(after["vocals"], rate, *inside) > band_energy(
            before["vocals"], rate, *inside)
    for outside in ((1.95, 2.4, 3800.0, 6500.0), (1.2, 2.4, 150.0, 1100.0)):  # corner, below
        for name in before:
            assert band_energy(after[name], rate, *outside) == pytest.approx(
                band_energy(before[name], rate, *outside), rel=0.05)
    # Help > Keyboard Shortcuts lists the tool.
    from stemsplit.gui.shortcuts_dialog import ShortcutsDialog

    window.actions["shortcuts"].trigger()
    table = window.findChildren(ShortcutsDialog)[-1].table
    rows = {table.item(i, 1).text(): table.item(i, 0).text() for i in range(table.rowCount())}
    assert rows["Lasso Tool"] == "D" and rows["Rectangle Tool"] == "R"
    table.parent().close()


def test_closing_or_opening_with_unsaved_edits_asks(qtbot, window, short_clip, demo_path):
    separate(qtbot, window, short_clip)
    ready(qtbot, window)
    view = window.view
    # A finished separation is unsaved work too (issue 20, item 9); edits ask their own way.
    assert window.windowTitle().startswith("short clip.wav*")
    apply_with_mouse(qtbot, window, Qt.Key_R, [vpos(view, 1.0, 2000.0), vpos(view, 2.0, 5000.0)])
    assert window.windowTitle().startswith("short clip.wav*")
    seen: list = []
    answer_next_question("Cancel", seen)
    window.close()
    assert window.isVisible() and "Save the mask edits" in seen[0][0]
    assert seen[0][1] == "Save"  # the default button
    answer_next_question("Cancel", seen)
    window.open_path(demo_path)
    assert len(seen) == 2 and window.session.audio.path == short_clip
    answer_next_question("Cancel", seen)
    window.separate()
    assert len(seen) == 3 and not window.session.separating
    answer_next_question("Discard", seen)
    with qtbot.waitSignal(window.session.songLoaded, timeout=60_000):
        window.open_path(demo_path)
    assert window.windowTitle().startswith(demo_path.name) and "*" not in window.windowTitle()
