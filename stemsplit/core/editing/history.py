"""Undo and redo for mask edits: steps that keep the audio they changed, within a budget."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stemsplit.core.editing.edits import Edit


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
    edits_before: tuple[Edit, ...]
    edits_after: tuple[Edit, ...]
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

    def push(self, step: Step) -> None:
        """A new step: it becomes the one to undo, and the redo stack is gone."""
        self._serial += 1
        step.serial = self._serial
        self.undo.append(step)
        self.redo.clear()
        self.trim()

    @property
    def state(self) -> int:
        """Serial of the present state (0: no step applied)."""
        return self.undo[-1].serial if self.undo else 0

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.undo) + sum(s.nbytes for s in self.redo)

    def trim(self) -> None:
        total = self.nbytes
        # Farthest from the present first: old undos, then redos (their top is the
        # nearest), and the step just done last of all.
        for step in [*self.undo[:-1], *self.redo, *self.undo[-1:]]:
            if total <= self.budget:
                return
            total -= step.nbytes
            step.before = step.after = None
