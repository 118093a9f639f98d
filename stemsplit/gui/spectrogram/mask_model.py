"""Display masks, accumulated chunk by chunk as the engine finishes them (numpy only).

The worker thread turns each ``MaskBlock`` into a ``MaskPatch`` (the block
reduced to every display grid); the GUI thread only pastes patches, which is a
cheap slice assignment. Overlapping chunks: the later patch wins, as in the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stemsplit.gui.spectrogram.display import DisplayGrid


@dataclass(frozen=True)
class MaskPatch:
    """One finished chunk's masks on each grid: scale -> (first column, (stems, rows, cols))."""

    parts: dict[str, tuple[int, np.ndarray]]


def patch_from_block(block, grids: dict[str, DisplayGrid]) -> MaskPatch:
    """Reduce a ``core.engine.stems.MaskBlock`` to every grid (runs off the GUI thread)."""
    return MaskPatch({
        scale: grid.reduce(block.masks, block.frame_start, block.hop_seconds, block.bin_hz)
        for scale, grid in grids.items()
    })


class MaskAccumulator:
    """Per-stem masks at display resolution for one song and one run.

    Args:
        stems: stem names, in the engine's order.
        grids: scale -> grid of the loaded song.
    """

    def __init__(self, stems: list[str], grids: dict[str, DisplayGrid]) -> None:
        self.stems = list(stems)
        self.grids = grids
        self._masks = {s: np.zeros((len(stems), g.rows, g.columns), np.float32)
                       for s, g in grids.items()}
        self._covered = {s: np.zeros(g.columns, bool) for s, g in grids.items()}

    def paste(self, patch: MaskPatch) -> tuple[int, int]:
        """Write a patch in; returns the column range it changed (on the first grid)."""
        changed = (0, 0)
        for scale, (first, arr) in patch.parts.items():
            target = self._masks[scale]
            stop = min(first + arr.shape[-1], target.shape[-1])
            target[:, :, first:stop] = arr[:, :, : stop - first]
            self._covered[scale][first:stop] = True
            if changed == (0, 0):
                changed = (first, stop)
        return changed

    def display_masks(self, scale: str = "log") -> dict[str, np.ndarray]:
        """Stem name -> ``(rows, columns)`` mask in [0, 1] as drawn (a copy)."""
        return {name: self._masks[scale][i].copy() for i, name in enumerate(self.stems)}

    def array(self, scale: str) -> np.ndarray:
        """The live ``(stems, rows, columns)`` array (read-only use; no copy)."""
        return self._masks[scale]

    def covered(self, scale: str = "log") -> np.ndarray:
        """Which columns have received masks so far."""
        return self._covered[scale].copy()

    @property
    def complete(self) -> bool:
        return all(bool(c.all()) for c in self._covered.values())
