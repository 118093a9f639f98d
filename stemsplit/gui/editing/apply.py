"""Runs the core's MaskEditor for the window: in the background, then shows the result.

Every change (an edit, undo, redo, clear) runs in the ``EditWorker`` thread,
which also reduces the changed span's masks to the display grids. Back on the
GUI thread only cheap steps remain: paste the mask patches and redraw those
columns, hand the (in-place edited) stems to the player, update the menus.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PySide6.QtCore import QObject, Signal

from stemsplit.gui.editing.worker import EditWorker
from stemsplit.gui.spectrogram.mask_model import MaskPatch, patch_from_block

log = logging.getLogger(__name__)
RECOVERY_WAIT_S = 600.0  # the recovery writer copies a 30-minute song's stems in seconds


def out_of_ram(stems, folder: Path | None):
    """(worker thread) The base stems moved to a memory-mapped scratch file, and the
    arrays themselves handed to the editor to edit: one copy of the stems in RAM, not
    two. Falls back to the editor's own copies when the disk refuses.

    Returns:
        ``(base, work, spilled)``: the editor's arguments and the Spilled to keep alive.
    """
    if folder is None:
        return stems, None, None
    work = [stems.stems[n] for n in stems.names]
    if any(w.dtype != np.float32 or not w.flags.c_contiguous or not w.flags.writeable
           for w in work):
        return stems, None, None
    from stemsplit.core.recovery.spill import Spilled
    from stemsplit.core.stems import StemSet

    try:
        spilled = Spilled(stems.stems, folder)
    except OSError as exc:
        log.warning("base stems stay in RAM: %s", exc)
        return stems, None, None
    spilled.keep_out_of_ram()
    base = StemSet(stems.sample_rate, spilled.arrays, stems.model, dict(stems.meta))
    # New array objects on the same memory: the session's stems become the editor's own
    # objects only once the editor is shown (_on_done), as with copies.
    return base, [w.view() for w in work], spilled


class EditorState(NamedTuple):
    """What the menus show, read in the worker right after each step: the GUI thread
    never waits on the editor's lock while the next edit is being computed."""

    undo_label: str = ""
    redo_label: str = ""
    dirty: bool = False
    has_edits: bool = False
    edits: tuple = ()  # the edit list itself (crash recovery journals it)


def _state_of(editor) -> EditorState:
    edits = tuple(editor.history)
    return EditorState(editor.undo_label or "", editor.redo_label or "", editor.dirty,
                       bool(edits), edits)


def merged(patches: list[MaskPatch]) -> MaskPatch:
    """(worker thread) Consecutive patches as one, later ones written over earlier ones
    as pasting them in turn would: the GUI thread then pastes once and redraws once
    (a whole song's redraw is ~1200 patches on a 30-minute song)."""
    parts = {}
    for scale in patches[0].parts:
        spans = [(f, f + a.shape[-1]) for f, a in (p.parts[scale] for p in patches)]
        first, stop = min(a for a, _ in spans), max(b for _, b in spans)
        shape = patches[0].parts[scale][1].shape[:-1]
        out = np.zeros((*shape, stop - first), np.float32)
        for p in patches:
            f, arr = p.parts[scale]
            out[..., f - first: f - first + arr.shape[-1]] = arr
        parts[scale] = (first, out)
    return MaskPatch(parts)


class EditApplier(QObject):
    """Owns the song's ``MaskEditor`` and applies changes to it off the GUI thread.

    Args:
        window: the MainWindow (uses its session, view and playback).

    Signals:
        changed(): a change was applied and is drawn and audible; menus may update.
        failed(message): a change could not be applied.
        ready(): an editor exists for the current stems (editing may start).
    """

    changed = Signal()
    failed = Signal(str)
    ready = Signal()

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.editor = None  # set in the worker thread: jobs run in order after its creation
        self.generation = 0  # results of an older song's editor are ignored
        self.last_range: tuple[int, int] | None = None  # samples changed by the last step
        self.state = EditorState()  # of the last step shown (GUI thread)
        self.spill_to: Path | None = None  # scratch folder override (tests)
        self.spilled = None  # the Spilled file holding the editor's base stems, if any
        self._recovery_pending = False
        self.worker = EditWorker(self)
        self.worker.done.connect(self._on_done)
        self.worker.failed.connect(lambda _tag, m: self.failed.emit(m))

    # -- editors -------------------------------------------------------------------------

    def start(self, stems, edits=(), saved: bool = True, draw_all: bool = False) -> None:
        """A new editor for ``stems`` (the base stems), replaying ``edits`` on them.

        ``draw_all``: redraw every column's masks from the editor (stems without masks).
        """
        from stemsplit.core.editing.editor import MaskEditor

        self.generation += 1
        gen, mix = self.generation, self.session.audio.samples
        self.editor = None
        self.state = EditorState()
        edits = list(edits)
        self._recovery_pending = True  # stems handed to the editor: see _before_change
        scratch = self.scratch_folder()

        def make():
            base, work, self.spilled = out_of_ram(stems, scratch)
            if edits:
                self._before_change()
            editor = MaskEditor(mix, base, work=work)
            span = editor.replay(edits) if edits else (0, 0)
            if saved:
                editor.mark_saved()
            self.editor = editor
            if draw_all:
                span = (0, mix.shape[-1])
            return self._drawing(editor, span if span != (0, 0) else None)
        self.worker.submit((gen, "start"), make)

    def forget(self) -> None:
        """No stems any more (another song): drop the editor."""
        self.generation += 1
        self.editor = None
        self.spilled = None
        self.state = EditorState()

    @property
    def ready_now(self) -> bool:
        return self.editor is not None

    def scratch_folder(self) -> Path | None:
        """Where the base stems go out of RAM (None: they stay in RAM)."""
        if self.spill_to is not None:
            return self.spill_to
        from stemsplit.settings import data_dir

        return data_dir() / "scratch"

    def _before_change(self) -> None:
        """(worker thread) The editor edits the stems it was given in place; the crash
        recovery writer may still be copying them as the separation left them. Wait for it
        once, before the first change."""
        if not self._recovery_pending:
            return
        self._recovery_pending = False
        writer = getattr(getattr(self.window, "recovery", None), "writer", None)
        if writer is not None:
            writer.flush(RECOVERY_WAIT_S)

    # -- changes -------------------------------------------------------------------------

    def apply(self, edit) -> None:
        self._submit("apply", lambda e: e.apply(edit))

    def undo(self) -> None:
        self._submit("undo", lambda e: e.undo())

    def redo(self) -> None:
        self._submit("redo", lambda e: e.redo())

    def clear(self, stem: str | None) -> None:
        self._submit("clear", lambda e: e.clear(stem))

    def _submit(self, what: str, step) -> None:
        if self.editor is None and not self.worker.busy:
            return
        gen = self.generation

        def job():
            editor = self.editor
            if editor is None or gen != self.generation:
                return None
            self._before_change()
            return self._drawing(editor, step(editor))
        self.worker.submit((gen, what), job)

    def _drawing(self, editor, span):
        """(worker thread) The changed span's masks on every display grid."""
        if span is None or span[1] <= span[0]:
            return editor, span, [], _state_of(editor)
        a, b = self._whole_columns(editor, span)
        grids = self.session.display.grids
        patches = [patch_from_block(block, grids) for block in editor.mask_blocks(a, b)]
        return editor, span, [merged(patches)] if patches else [], _state_of(editor)

    def _whole_columns(self, editor, span) -> tuple[int, int]:
        """Widen a sample span to whole display columns, so no column is half redrawn."""
        grid = next(iter(self.session.display.grids.values()))
        rate = editor.grid.sample_rate
        per_column = grid.dt * rate
        a = int(np.floor(span[0] / per_column) * per_column)
        b = int(np.ceil(span[1] / per_column) * per_column)
        return max(0, a), min(b, self.session.audio.frames)

    # -- results (GUI thread) ------------------------------------------------------------

    def _on_done(self, tag, result) -> None:
        gen, what = tag
        if gen != self.generation or result is None:
            return
        editor, span, patches, self.state = result
        s, view = self.session, self.window.view
        if what == "start":
            base = s.stems
            # The editor's live arrays: playback and export see every edit from now on.
            from stemsplit.core.stems import StemSet

            live = editor.stems()
            s.stems = StemSet(live.sample_rate, live.stems, model=base.model if base else "",
                              meta=dict(base.meta) if base else {})
        self.last_range = span
        if patches and s.masks is not None:
            first, stop = None, None
            for patch in patches:
                a, b = s.masks.paste(patch)
                first = a if first is None else min(first, a)
                stop = b if stop is None else max(stop, b)
            view.masks_changed(first, stop)
        playback = self.window.playback
        if playback is not None and s.stems is not None and playback.player.has_stems:
            # Same names: the mixer keeps its solo/mute/gain settings. After a change only
            # its span is refreshed (the player holds these very arrays).
            changed = span if what != "start" and span is not None else None
            playback.player.set_stems(s.stems.stems, changed=changed)
        if what == "start":
            self.ready.emit()
        self.changed.emit()

    def mark_saved(self) -> None:
        """The edits as they are now were saved (call with the worker idle)."""
        if self.editor is not None:
            self.editor.mark_saved()
            self.state = _state_of(self.editor)

    def close(self) -> None:
        self.worker.close()
