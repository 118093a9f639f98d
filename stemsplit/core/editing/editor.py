"""Editing the separation by hand: move sound between stems in a time x frequency region.

The network's stems are kept untouched (the *base* stems); the user's edits are
a layer on top of them, applied one after the other to the current stems:

    from stemsplit.core.editing.editor import Edit, MaskEditor, Region
    editor = MaskEditor(mix, stems)                    # mix: (channels, n) float32
    a, b = editor.apply(Edit(Region.rect(2.0, 4.0, 3000, 8000), "assign", "vocals"))
    editor.stems()            # StemSet: edited stems, same shapes, sum exactly to mix
    editor.mask_patch(a, b)   # MaskBlock of each stem's share over the changed span
    editor.undo(); editor.redo(); editor.clear("vocals")

How an edit works: the current stems' STFT S_i over the region's frames (+ the
window's overlap) is recombined linearly so that sum_i S_i is unchanged, and
the inverse STFT of the change S_i' - S_i is added to each stem over the
touched samples only; the last stem is then set to ``mix - others`` there, so
the stems sum to the mix exactly in float32 and audio outside the changed
range stays bit-identical. STFT: periodic Hann, hop n_fft / 4 (COLA), n_fft
4096 at 44.1 kHz scaled with the rate to the nearest power of two.

Differences from the first API sketch (all additive):

- ``Region.rect`` / ``Region.brush`` build regions (sorted edges, a brush's
  bounding box from its stroke and radius); ``Region.radius_hz`` gives a brush
  that is round on the *linear* frequency view (``radius_oct`` on the log view).
- ``Region.weights(times_s, freqs_hz)`` evaluates the soft region on any grid
  (for a preview drawn by the GUI).
- The editor's share read-out is ``mask_patch(a, b)`` / ``mask_blocks(...)``,
  returning the engine's own ``MaskBlock`` type (|S_i| / |X| per STFT bin,
  channel mean, clipped to [0, 1]) which the GUI already knows how to draw.
- ``Edit.label`` names an edit for menus; the grid is ``MaskEditor.grid``
  (``EditGrid``: n_fft, hop, frames, hop_seconds, bin_hz).
- ``stems()`` returns the editor's live arrays (no copy); ``undo_label`` /
  ``redo_label`` name the next step; ``replay(edits)`` re-applies a saved list;
  ``mark_saved()`` / ``dirty`` follow the project's saved state through undo.
- The base stems and the mix are kept by reference (read-only views), not copied.

Modules: ``edit_types`` (Region, Edit), ``edit_spectra`` (grid, STFT spans, the
operations), ``edit_history`` (undo steps); this one holds the editor.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

import numpy as np

from stemsplit.core.editing.edits import OPS, Edit, Region
from stemsplit.core.editing.history import EMPTY, EditChain, History, Step
from stemsplit.core.editing.spectra import EditGrid, apply_plan, plan_edit, set_last, share_masks
from stemsplit.core.stems import MaskBlock, StemSet

__all__ = ["OPS", "Edit", "EditGrid", "MaskEditor", "Region"]


def _read_only(x: np.ndarray) -> np.ndarray:
    view = np.asarray(x, dtype=np.float32).view()
    view.flags.writeable = False
    return view


def _is_mix_minus_others(stems: list[np.ndarray], mix: np.ndarray,
                         block: int = 1 << 18) -> bool:
    """Whether the last stem is bit for bit what ``set_last`` makes of the others
    (a block at a time: a whole-song probe is one more stem in memory)."""
    for a in range(0, mix.shape[-1], block):
        b = min(a + block, mix.shape[-1])
        probe = [*(x[:, a:b] for x in stems[:-1]), np.empty_like(stems[-1][:, a:b])]
        set_last(probe, mix[:, a:b], 0, b - a)
        if not np.array_equal(probe[-1], stems[-1][:, a:b]):
            return False
    return True


def _handed_over(work: list[np.ndarray], shape: tuple, n: int) -> list[np.ndarray]:
    if len(work) != n or any(w.shape != shape or w.dtype != np.float32
                             or not w.flags.c_contiguous or not w.flags.writeable
                             for w in work):
        raise ValueError("work must be one writable float32 C-contiguous array per stem")
    return list(work)


class MaskEditor:
    """Holds the separated stems and the user's edit layer on top of them.

    The model output (the base stems) is never changed. Methods are serialised by
    an internal lock, so ``apply``/``undo``/``redo``/``clear`` may run in a worker
    thread while another thread reads; an edit of a few seconds takes tens of ms.

    Args:
        mix: ``(channels, n)`` float32, the song at ``stems.sample_rate`` (what the
            edited stems must sum to). Kept, not copied: do not modify it.
        stems: the base stems, each ``(channels, n)`` float32. Kept, not copied.
        history_bytes: memory kept for instant undo/redo (each step stores the
            changed range of every stem as it was, and once undone as it became:
            ~0.7 MB per second of stereo per stem). Past it, the steps
            farthest from the present drop their audio and are undone by replaying
            the edits from the base stems (slower, same result).
        work: optional arrays equal to the base stems, one per stem, that the editor
            then edits in place (default: copies of the base).

    Raises:
        ValueError: shapes that do not match the mix, or no stems.
    """

    def __init__(self, mix: np.ndarray, stems: StemSet, *,
                 history_bytes: int = 500 * 2**20,
                 work: list[np.ndarray] | None = None) -> None:
        self._lock = threading.RLock()
        mix = np.asarray(mix, dtype=np.float32)
        if mix.ndim == 1:
            mix = mix[None]
        if not stems.stems:
            raise ValueError("the editor needs at least one stem")
        for name, x in stems.stems.items():
            if np.shape(x) != mix.shape:
                raise ValueError(f"stem {name!r} is shaped {np.shape(x)}, the mix {mix.shape}")
        self._mix = _read_only(mix)
        self._names = list(stems.names)
        self._base = StemSet(stems.sample_rate,
                             {k: _read_only(v) for k, v in stems.stems.items()},
                             stems.model, dict(stems.meta))
        # ``work``: arrays equal to the base, handed over to be edited in place, so that a
        # base kept out of RAM (memory-mapped) costs no second copy of the stems.
        self._work = ([np.array(x, dtype=np.float32, order="C") for x in self._base.stems.values()]
                      if work is None else _handed_over(work, mix.shape, len(self._names)))
        # Every edit writes the last stem as mix minus the others. When the base stems are
        # made that way too (the engines do), the last stem is that everywhere, always:
        # undo steps then need not keep it (half the memory and copying for two stems).
        self._derived = len(self._work) > 1 and _is_mix_minus_others(self._work, self._mix)
        self._grid = EditGrid.for_song(stems.sample_rate, mix.shape[-1])
        self._edits: EditChain = EMPTY
        self._history = History(int(history_bytes))
        self._revision = 0
        self._saved = 0

    # -- editing ---------------------------------------------------------------------

    def apply(self, edit: Edit) -> tuple[int, int]:
        """Apply one edit to the current stems (undoable).

        Returns:
            ``(a, b)``: the sample range ``[a, b)`` that changed, at the stems' rate;
            ``(0, 0)`` when the region is empty (nothing recorded, nothing changed).

        Raises:
            ValueError: ``edit.stem`` is not one of the stems.
        """
        with self._lock:
            k = self._index(edit.stem)
            plan = plan_edit(edit, self._grid)
            if plan is None or len(self._names) < 2:
                return 0, 0
            a, b = self._grid.samples_of_frames(plan.ja, plan.jb, self.length)
            before = self._segment(a, b)
            apply_plan(self._work, self._mix, self._grid, plan, edit, k)
            edits_before = self._edits
            self._edits = self._edits.plus(edit)
            # The "after" audio is taken only if the step is undone: one copy less per edit.
            self._history.push(Step(edit.label, a, b, edits_before, self._edits,
                                    before, None, edit))
            self._revision += 1
            return a, b

    def replay(self, edits: Iterable[Edit]) -> tuple[int, int]:
        """Apply a saved list of edits in order (each undoable); returns the hull of
        the changed ranges, ``(0, 0)`` if none changed anything."""
        lo, hi = self.length, 0
        with self._lock:
            for edit in edits:
                a, b = self.apply(edit)
                if b > a:
                    lo, hi = min(lo, a), max(hi, b)
        return (lo, hi) if hi > lo else (0, 0)

    def undo(self) -> tuple[int, int] | None:
        """Take back the last step; returns the changed range, None if none to undo."""
        with self._lock:
            if not self._history.undo:
                return None
            step = self._history.pop_undo()
            if step.before is not None:
                if step.after is None:   # makes redo a copy
                    self._history.keep_after(step, self._segment(step.a, step.b))
                self._write(step.a, step.before)
            else:
                self._rebuild(step.edits_before)
            self._edits = step.edits_before
            self._history.redo.append(step)
            self._history.trim()
            self._revision += 1
            return step.a, step.b

    def redo(self) -> tuple[int, int] | None:
        """Do again the last undone step; returns the changed range, None if none."""
        with self._lock:
            if not self._history.redo:
                return None
            step = self._history.redo.pop()
            if step.after is not None:
                self._write(step.a, step.after)
            elif step.edit is not None:
                # Same edit on the same audio: the computation repeats bit for bit.
                self._run(self._work, step.edit)
            else:
                self._rebuild(step.edits_after)
            self._edits = step.edits_after
            self._history.undo.append(step)
            self._revision += 1
            return step.a, step.b

    def clear(self, stem: str | None = None) -> tuple[int, int] | None:
        """Drop every edit of ``stem`` (``Edit.stem == stem``), or all edits for None,
        by replaying the others on the base stems; one undoable step.

        Returns:
            The changed range (``(0, 0)`` when the dropped edits had changed nothing
            audible), or None when there was nothing to clear.

        Raises:
            ValueError: unknown stem.
        """
        with self._lock:
            if stem is not None:
                self._index(stem)
            keep = [e for e in self._edits if stem is not None and e.stem != stem]
            if len(keep) == len(self._edits):
                return None
            new = [np.array(x) for x in self._base.stems.values()]
            for edit in keep:
                self._run(new, edit)
            changed = np.zeros(self.length, bool)
            for x, y in zip(self._work, new, strict=True):
                changed |= (x != y).any(axis=0)
            idx = np.flatnonzero(changed)
            a, b = (int(idx[0]), int(idx[-1]) + 1) if idx.size else (0, 0)
            before = self._segment(a, b)
            for x, y in zip(self._work, new, strict=True):
                x[:, a:b] = y[:, a:b]
            label = f"Clear Edits of {stem}" if stem is not None else "Clear All Edits"
            kept = EditChain.of(keep)
            self._history.push(Step(label, a, b, self._edits, kept, before, None))
            self._edits = kept
            self._revision += 1
            return a, b

    # -- state -----------------------------------------------------------------------

    @property
    def can_undo(self) -> bool:
        return bool(self._history.undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._history.redo)

    @property
    def undo_label(self) -> str | None:
        """What undo would take back, e.g. "Assign to vocals", "Clear Edits of drums"."""
        with self._lock:
            return self._history.undo[-1].label if self._history.undo else None

    @property
    def redo_label(self) -> str | None:
        with self._lock:
            return self._history.redo[-1].label if self._history.redo else None

    @property
    def history(self) -> list[Edit]:
        """The edits that make the current stems, in order (a copy): replaying them on
        the base stems gives :meth:`stems`. This is what a project file stores."""
        with self._lock:
            return list(self._edits)

    @property
    def history_nbytes(self) -> int:
        """Bytes of audio the undo/redo steps hold now."""
        with self._lock:
            return self._history.nbytes

    @property
    def revision(self) -> int:
        """Goes up by one at every change (apply, undo, redo, clear)."""
        return self._revision

    @property
    def dirty(self) -> bool:
        """True when the stems differ from the state last passed to :meth:`mark_saved`
        (undoing back to it makes this False again); False for a new editor."""
        with self._lock:
            return self._history.state != self._saved

    def mark_saved(self) -> None:
        """Remember the current state as saved (call after writing the project)."""
        with self._lock:
            self._saved = self._history.state

    # -- results ---------------------------------------------------------------------

    @property
    def grid(self) -> EditGrid:
        return self._grid

    @property
    def names(self) -> list[str]:
        return list(self._names)

    @property
    def length(self) -> int:
        return self._mix.shape[-1]

    @property
    def mix(self) -> np.ndarray:
        """``(channels, n)`` float32 (read-only), what the stems sum to."""
        return self._mix

    def stems(self) -> StemSet:
        """The edited stems: ``(channels, n)`` float32 each, summing to the mix.

        The arrays are the editor's own (no copy): apply/undo/redo/clear change them
        in place, only inside the range they return, so a player holding them hears
        edits at once. Copy them for a snapshot.
        """
        b = self._base
        return StemSet(b.sample_rate, dict(zip(self._names, self._work, strict=True)), b.model,
                       dict(b.meta))

    def base_stems(self) -> StemSet:
        """The unedited model output (read-only arrays)."""
        return self._base

    def mask_patch(self, a: int, b: int) -> MaskBlock:
        """Each stem's share over the frames whose windows touch samples ``[a, b)``.

        Returns:
            A MaskBlock: ``masks`` ``(stems, bins, frames)`` float32 = |S_i| / |X|
            per bin (channel mean, clipped to [0, 1]) of the edited stems,
            ``frame_start`` the first frame, ``hop_seconds`` and ``bin_hz`` of
            :attr:`grid`. Costs ~8 MB per second of audio per stem: draw long spans
            with :meth:`mask_blocks`.
        """
        g = self._grid
        ja, jb = g.frame_span_of_samples(a, b)
        with self._lock:
            if jb > ja:
                masks = share_masks(self._work, self._mix, g, ja, jb)
            else:
                masks = np.zeros((len(self._names), g.bins, 0), np.float32)
        return MaskBlock(ja, masks, g.hop_seconds, g.bin_hz)

    def mask_blocks(self, a: int = 0, b: int | None = None,
                    frames_per_block: int = 64) -> Iterator[MaskBlock]:
        """:meth:`mask_patch` over ``[a, b)`` (default: the whole song) in pieces of
        at most ``frames_per_block`` frames."""
        g = self._grid
        ja, jb = g.frame_span_of_samples(a, self.length if b is None else b)
        for fa in range(ja, jb, frames_per_block):
            fb = min(jb, fa + frames_per_block)
            with self._lock:
                masks = share_masks(self._work, self._mix, g, fa, fb)
            yield MaskBlock(fa, masks, g.hop_seconds, g.bin_hz)

    # -- internals -------------------------------------------------------------------

    def _index(self, stem: str) -> int:
        try:
            return self._names.index(stem)
        except ValueError:
            raise ValueError(f"unknown stem {stem!r}; the stems are {self._names}") from None

    def _segment(self, a: int, b: int) -> np.ndarray:
        """``(S, C, b - a)`` copy of the stems (``S - 1``: all but a derived last stem)."""
        kept = self._work[:-1] if self._derived else self._work
        return np.stack([x[:, a:b] for x in kept])

    def _write(self, a: int, seg: np.ndarray) -> None:
        b = a + seg.shape[-1]
        for x, s in zip(self._work, seg, strict=False):
            x[:, a:b] = s
        if self._derived:
            set_last(self._work, self._mix, a, b)

    def _run(self, arrays: list[np.ndarray], edit: Edit) -> None:
        plan = plan_edit(edit, self._grid)
        if plan is not None:
            apply_plan(arrays, self._mix, self._grid, plan, edit, self._index(edit.stem))

    def _rebuild(self, edits: Iterable[Edit]) -> None:
        """Base stems plus ``edits``, in place (the fallback once steps lost their audio)."""
        for x, b in zip(self._work, self._base.stems.values(), strict=True):
            np.copyto(x, b)
        for edit in edits:
            self._run(self._work, edit)
