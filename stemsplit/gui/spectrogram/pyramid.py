"""Time-halved copies of a display image, so zooming out never resamples on the GUI thread.

pyqtgraph's own ``autoDownsample`` takes a mean over a short strided axis,
which costs ~12 ms for a 320 x 4000 image on this project's machines, on every
redraw of every layer. Halving column pairs costs ~0.6 ms, and the view picks
the level whose columns are closest to (but not fewer than) the screen pixels.
"""

from __future__ import annotations

import math

import numpy as np

MIN_COLUMNS = 256  # below this a further level saves nothing worth having


class Pyramid:
    """Level 0 is the image; level k averages 2**k columns (the last one padded by edge)."""

    def __init__(self, image: np.ndarray) -> None:
        self.levels: list[np.ndarray] = [np.ascontiguousarray(image, dtype=np.float32)]
        while self.levels[-1].shape[1] > MIN_COLUMNS:
            self.levels.append(_halve(self.levels[-1]))

    @property
    def base(self) -> np.ndarray:
        return self.levels[0]

    def update(self, first: int, stop: int) -> None:
        """Recompute the coarser levels after columns ``[first, stop)`` of level 0 changed."""
        for k in range(1, len(self.levels)):
            first, stop = first // 2, (stop + 1) // 2
            below = self.levels[k - 1]
            a = below[:, 2 * first: 2 * stop: 2]
            b = below[:, 2 * first + 1: 2 * stop: 2]
            if b.shape[1] < a.shape[1]:  # odd width: the last column pairs with itself
                b = np.concatenate([b, a[:, -1:]], axis=1)
            self.levels[k][:, first: first + a.shape[1]] = (a + b) * 0.5

    def level_for(self, visible_columns: float, pixels: float) -> int:
        """The coarsest level that still has at least one column per screen pixel."""
        if pixels <= 0 or visible_columns <= pixels:
            return 0
        return min(len(self.levels) - 1, int(math.floor(math.log2(visible_columns / pixels))))


def _halve(image: np.ndarray) -> np.ndarray:
    if image.shape[1] % 2:
        image = np.concatenate([image, image[:, -1:]], axis=1)
    return np.ascontiguousarray((image[:, 0::2] + image[:, 1::2]) * 0.5)
