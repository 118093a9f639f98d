"""Undo and redo for mask edits: steps that keep the audio they changed, within a budget.

Everything here costs O(1) per step (a replayed 10 000-edit project once spent
most of its time re-adding the bytes of every step and copying the edit list into
each new one): the edit lists are :class:`EditChain` s sharing their common start,
and :class:`History` keeps a running total of the bytes held.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from stemsplit.core.editing.edits import Edit


class EditChain:
    """An immutable list of edits; ``plus`` makes a longer one in O(1), sharing this one.

    Iterating walks the chain once (O(n)); nothing here recurses.
    """

    __slots__ = ("_prev", "_edit", "_len")

    def __init__(self, prev: EditChain | None = None, edit: Edit | None = None) -> None:
        self._prev, self._edit = prev, edit
        self._len = 0 if prev is None else prev._len + 1

    @classmethod
    def of(cls, edits: Iterable[Edit]) -> EditChain:
        chain = EMPTY
        for e in edits:
            chain = chain.plus(e)
        return chain

    def plus(self, edit: Edit) -> EditChain:
        return EditChain(self, edit)

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Edit]:
        items, node = [], self
        while node._prev is not None:
            items.append(node._edit)
            node = node._prev
        return reversed(items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EditChain):
            return self is other or (len(self) == len(other) and list(self) == list(other))
        return NotImplemented

    __hash__ = None  # mutable-looking equality: never a dict key


EMPTY = EditChain()


@dataclass
class Step:
    """One undoable change of the stems.

    Attributes:
        label: for menus ("Assign to vocals", "Clear Edits of drums").
        a, b: the sample range ``[a, b)`` it changed.
        edits_before, edits_after: the edit list (``MaskEditor.history``) around it.
        before, after: ``(S, C, b - a)`` float32 audio of every stem over ``[a, b)``
            before and after the step; ``after`` is taken when the step is undone.
            None once dropped for memory (then the editor replays the edits).
        edit: the edit it applied, None for a clear.
        serial: identifies the state after this step (for the saved / dirty flag).
    """

    label: str
    a: int
    b: int
    edits_before: EditChain
    edits_after: EditChain
    before: np.ndarray | None
    after: np.ndarray | None
    edit: Edit | None = None
    serial: int = 0

    @property
    def nbytes(self) -> int:
        return sum(x.nbytes for x in (self.before, self.after) if x is not None)


@dataclass
class History:
    """Two stacks of steps and the memory they hold.

    Args:
        budget: bytes of audio kept; past it the steps farthest from the present
            state drop theirs.
    """

    budget: int
    undo: list[Step] = field(default_factory=list)
    redo: list[Step] = field(default_factory=list)
    _serial: int = 0
    _total: int = 0      # bytes the steps hold (kept up to date: summing them is O(n))
    _dropped_below: int = 0  # undo[:i] hold no audio any more: trimming starts at i

    def push(self, step: Step) -> None:
        """A new step: it becomes the one to undo, and the redo stack is gone."""
        self._serial += 1
        step.serial = self._serial
        self._total -= sum(s.nbytes for s in self.redo)
        self.redo.clear()
        self.undo.append(step)
        self._total += step.nbytes
        self.trim()

    def keep_after(self, step: Step, after: np.ndarray) -> None:
        """Give an undone step the audio it made (so redo is a copy)."""
        self._total -= step.nbytes
        step.after = after
        self._total += step.nbytes

    def pop_undo(self) -> Step:
        step = self.undo.pop()
        self._dropped_below = min(self._dropped_below, len(self.undo))
        return step

    @property
    def state(self) -> int:
        """Serial of the present state (0: no step applied)."""
        return self.undo[-1].serial if self.undo else 0

    @property
    def nbytes(self) -> int:
        return self._total

    def trim(self) -> None:
        if self._total <= self.budget:
            return
        # Farthest from the present first: old undos, then redos (their top is the
        # nearest), and the step just done last of all.
        last = len(self.undo) - 1
        while self._dropped_below < last and self._total > self.budget:
            self._drop(self.undo[self._dropped_below])
            self._dropped_below += 1
        for step in [*self.redo, *self.undo[-1:]]:
            if self._total <= self.budget:
                return
            self._drop(step)

    def _drop(self, step: Step) -> None:
        self._total -= step.nbytes
        step.before = step.after = None
