"""The window's side of mask editing: tools, strokes, the Edit menu, undo and redo.

The edit maths lives in ``stemsplit.core.editing.editor`` (``MaskEditor``); this
module only turns mouse strokes into regions, hands them to the editor in a
background thread (``edit_worker``), and shows what comes back: the overlays
of the changed span, the edited stems for playback and export.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence

from stemsplit.gui.common.names import display_name
from stemsplit.gui.editing.apply import EditApplier
from stemsplit.gui.editing.brush_ring import BrushRing
from stemsplit.gui.editing.stroke_preview import StrokePreview
from stemsplit.gui.editing.tools import BRUSH, LASSO, POINTER, RECTANGLE, TOOL_KEYS, EditToolBar
from stemsplit.gui.spectrogram.viewbox import END, MOVE, START


def _action(window, text: str, slot, shortcuts=()) -> QAction:
    action = QAction(text, window)
    if shortcuts:
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
    action.triggered.connect(lambda _checked=False: slot())
    window.addAction(action)  # shortcuts work wherever the focus is in the window
    return action


class EditGlue(QObject):
    """Connects the tool bar, the spectrogram's strokes and the Edit menu to the editor.

    Signals:
        strokeFinished(stroke): a finished stroke, as ``region_of_stroke`` returns it.
        editsChanged(): an edit was applied, undone, redone or cleared (unsaved work).
    """

    strokeFinished = Signal(object)
    editsChanged = Signal()

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.view = window.view
        self.tools = EditToolBar()
        window.plot_box.insertWidget(0, self.tools)
        self.preview = StrokePreview(self.view.getPlotItem())
        self.ring = BrushRing(self.view, lambda: self.tools.size.value())
        self.applier = EditApplier(window)
        self.pending_edits: list = []  # edits to replay on the next stems (an opened project)
        self.actions = self._build_menu()
        self.tools.toolChanged.connect(self._on_tool)
        self.tools.size.valueChanged.connect(lambda _v: self.ring.update())
        self.view.vb.stroke.connect(self._on_stroke)
        self.strokeFinished.connect(self.apply_stroke)
        self.applier.changed.connect(self._on_changed)
        self.applier.ready.connect(self.update_state)
        self.applier.failed.connect(
            lambda m: window.banner.show_message(f"The edit could not be applied: {m}"))
        self.session.stemsReady.connect(self._on_stems)
        self.session.stemsCleared.connect(self._on_no_stems)
        self.session.songLoaded.connect(lambda _a: self._on_no_stems())
        self.session.busyChanged.connect(lambda _b: self.update_state())
        self.update_state()

    # -- menu and keys -------------------------------------------------------------------

    def _build_menu(self) -> dict[str, QAction]:
        w = self.window
        bar = w.menuBar()
        menu = bar.addMenu("&Edit")
        bar.insertMenu(bar.actions()[1], menu)  # after File
        self.menu = menu
        a = {
            "undo": _action(w, "&Undo", self.undo, [QKeySequence.Undo]),
            "redo": _action(w, "&Redo", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"]),
            "pointer": _action(w, "&Pointer Tool", lambda: self.tools.set_tool(POINTER), ["V"]),
            "brush": _action(w, "&Brush Tool", lambda: self.tools.set_tool(BRUSH), ["B"]),
            "rectangle": _action(w, "&Rectangle Tool",
                                 lambda: self.tools.set_tool(RECTANGLE), ["R"]),
            "lasso": _action(w, "&Lasso Tool", lambda: self.tools.set_tool(LASSO),
                             [TOOL_KEYS[LASSO]]),
            # Esc leaves a tool; while a run goes on, Esc cancels it instead (Separate menu).
            "leave_tool": _action(w, "Leave Tool", lambda: self.tools.set_tool(POINTER),
                                  ["Esc"]),
            "clear_all": _action(w, "Clear &All Edits", self.clear_all),
        }
        menu.addAction(a["undo"])
        menu.addAction(a["redo"])
        menu.addSeparator()
        for key in ("pointer", "brush", "rectangle", "lasso"):
            menu.addAction(a[key])
        menu.addSeparator()
        self.clear_menu = menu.addMenu("&Clear Edits of")
        menu.addAction(a["clear_all"])
        # Help > Keyboard Shortcuts lists the window's table of actions: these too.
        w.actions.update({f"edit_{k}": v for k, v in a.items()})
        return a

    def _fill_clear_menu(self, names: list[str]) -> None:
        self.clear_menu.clear()
        for name in names:
            self.clear_menu.addAction(display_name(name), lambda n=name: self.clear(n))
        self.clear_menu.setEnabled(bool(names))

    # -- state ---------------------------------------------------------------------------

    @property
    def can_edit(self) -> bool:
        s = self.session
        return s.stems is not None and s.audio is not None and not s.loading

    def _on_stems(self, stems) -> None:
        edits, self.pending_edits = self.pending_edits, []
        masks = self.session.masks
        # Stems that came without masks (an opened project): draw them all from the editor.
        self.applier.start(stems, edits,
                           draw_all=masks is not None and not masks.covered().any())
        self.update_state()
        if edits:
            self.editsChanged.emit()

    def _on_no_stems(self) -> None:
        self.applier.forget()
        self.update_state()
        self.editsChanged.emit()

    def _on_changed(self) -> None:
        self.update_state()
        self.editsChanged.emit()

    def update_state(self) -> None:
        names = list(self.session.stems.names) if self.can_edit else []
        if self.tools.target.count() != len(names) or [
                self.tools.target.itemData(i) for i in range(len(names))] != names:
            self.tools.set_stems(names)
            self._fill_clear_menu(names)
        self.tools.set_enabled(self.can_edit)
        for key in ("brush", "rectangle", "lasso"):
            self.actions[key].setEnabled(self.can_edit)
        self.actions["leave_tool"].setEnabled(self.tools.tool != POINTER
                                              and not self.session.separating)
        self._update_undo_texts()

    def _update_undo_texts(self) -> None:
        undo, redo = self.undo_label(), self.redo_label()
        self.actions["undo"].setText(f"&Undo {undo}" if undo else "&Undo")
        self.actions["redo"].setText(f"&Redo {redo}" if redo else "&Redo")
        self.actions["undo"].setEnabled(bool(undo))
        self.actions["redo"].setEnabled(bool(redo))
        self.actions["clear_all"].setEnabled(self.has_edits())
        self.clear_menu.setEnabled(self.has_edits())

    @property
    def editor(self):
        """The core's MaskEditor of the current stems (None before it is made)."""
        return self.applier.editor

    # The menus read the state of the last step shown, never the editor itself: its lock
    # may be held for a second by the next edit running in the background.

    @property
    def dirty(self) -> bool:
        """Edits differ from what was last saved (undoing back to it: clean again)."""
        return self.applier.state.dirty

    def undo_label(self) -> str:
        return self.applier.state.undo_label

    def redo_label(self) -> str:
        return self.applier.state.redo_label

    def has_edits(self) -> bool:
        return self.applier.state.has_edits

    def undo(self) -> None:
        self.preview.clear()
        self.applier.undo()

    def redo(self) -> None:
        self.applier.redo()

    def clear(self, stem: str) -> None:
        self.applier.clear(stem)

    def clear_all(self) -> None:
        self.applier.clear(None)

    # -- strokes -------------------------------------------------------------------------

    def _on_tool(self, tool: str) -> None:
        self.view.set_tool(tool)
        self.ring.set_tool(tool)
        # With an edit tool a drag inside the loop paints: the region must not take it.
        self.view.loop.setMovable(tool == POINTER)
        self.preview.clear()
        self.actions["leave_tool"].setEnabled(tool != POINTER and not self.session.separating)

    def _on_stroke(self, x: float, y: float, phase: int) -> None:
        if not self.can_edit:
            return
        settings = self.tools.settings()
        if phase == START:
            colour = self.session.stem_colours.get(settings["stem"], "#ffffff")
            self.preview.start(self.tools.tool, x, y, colour, settings["size_px"])
        elif phase == MOVE:
            self.preview.move(x, y)
        elif phase == END and self.preview.tool:
            stroke = self.stroke_geometry(settings)
            self.preview.clear()
            if stroke is not None:
                self.strokeFinished.emit(stroke)

    def stroke_geometry(self, settings: dict) -> dict | None:
        """The finished stroke in seconds and Hz, with the tool's settings.

        Returns a dict: ``tool``, ``operation``, ``stem``, ``amount``, ``hardness``, and
        for a rectangle ``t0, t1, f0, f1``; for the brush ``points`` ((s, Hz) pairs),
        ``radius_s`` and ``radius_y`` (the brush radius in seconds and in the view's
        frequency units: decades on the log scale, Hz on the linear one) and ``scale``;
        for the lasso ``points`` (its outline, (s, Hz) pairs) and ``scale``.
        """
        grid = self.view.song.grids[self.view.scale]
        pts = self.preview.points
        base = dict(settings, tool=self.preview.tool, scale=self.view.scale)
        if self.preview.tool == RECTANGLE:
            r = self.preview.rect_view()
            if r.width() <= 0 or r.height() <= 0:
                return None
            return dict(base, t0=r.left(), t1=r.right(),
                        f0=grid.hz_of_y(r.top()), f1=grid.hz_of_y(r.bottom()))
        points = [(float(t), grid.hz_of_y(float(v))) for t, v in pts]
        if self.preview.tool == LASSO:
            return dict(base, points=points)
        px, py = self.view.vb.pixel_size()
        radius = settings["size_px"] / 2
        return dict(base, points=points, radius_s=radius * px, radius_y=radius * py)

    def apply_stroke(self, stroke: dict) -> None:
        """Turn a finished stroke into a core ``Edit`` and apply it in the background."""
        edit = edit_of_stroke(stroke)
        if edit is not None:
            self.applier.apply(edit)


def edit_of_stroke(stroke: dict):
    """The core ``Edit`` for a stroke from ``EditGlue.stroke_geometry`` (None: empty)."""
    from stemsplit.core.editing.editor import Edit, Region

    feather = 1.0 - float(stroke["hardness"])
    if stroke["tool"] == RECTANGLE:
        region = Region.rect(stroke["t0"], stroke["t1"], stroke["f0"], stroke["f1"],
                             feather=feather)
    elif stroke["tool"] == LASSO:
        try:
            region = Region.lasso(stroke["points"], feather=feather,
                                  log_freq=stroke["scale"] == "log")
        except ValueError:
            return None  # a click or a line: no inside to edit
    else:
        points = [(t, f) for t, f in stroke["points"] if f > 0]
        if not points:
            return None
        if stroke["scale"] == "log":  # round on screen: the radius in octaves
            region = Region.brush(points, stroke["radius_s"], feather=feather,
                                  radius_oct=stroke["radius_y"] * math.log2(10))
        else:
            region = Region.brush(points, stroke["radius_s"], feather=feather,
                                  radius_hz=max(stroke["radius_y"], 1e-3))
    amount = float(stroke["amount"]) if stroke["operation"] == "scale" else 1.0
    return Edit(region, stroke["operation"], stroke["stem"], amount)
