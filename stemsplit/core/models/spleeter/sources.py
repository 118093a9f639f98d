"""``WeightFiles``: a model's weight loader that also names the files it reads (no torch here)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np


class WeightFiles:
    """A model's ``load_weights`` that also names the files it reads.

    ``spleeter.prepared`` keys its cache of the fused network by those files, so a
    start with a cached network never reads the weights themselves.
    """

    def __init__(self, load: Callable[[], list[dict[str, np.ndarray]]],
                 files: Callable[[], list[Path]]) -> None:
        self._load, self.files = load, files

    def __call__(self) -> list[dict[str, np.ndarray]]:
        return self._load()
