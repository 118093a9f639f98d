"""A small functional facade over the engine, for scripts, the CLI's self-test and tests.

    from stemsplit.core.api import separate
    stems = separate("song.mp3")            # StemSet at the song's own rate
    stems.stems["vocals"]                   # (channels, samples) float32
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from stemsplit.core.audio.read import load_audio
from stemsplit.core.engine.separator import EngineOptions, Separator
from stemsplit.core.errors import StemsplitError
from stemsplit.core.models.registry import DEFAULT_MODEL, load_separator
from stemsplit.core.stems import Progress, StemSet


@lru_cache(maxsize=2)
def get_separator(model: str = DEFAULT_MODEL, device: str = "auto",
                  options: EngineOptions | None = None) -> Separator:
    """A Separator per (model, device, options), kept so repeated calls skip loading."""
    return load_separator(model, device=device, options=options)


def separate(source: str | Path | np.ndarray, sample_rate: int | None = None, *,
             model: str = DEFAULT_MODEL, device: str = "auto",
             options: EngineOptions | None = None, cancel: threading.Event | None = None,
             on_progress: Callable[[Progress], None] | None = None) -> StemSet:
    """Separate a file or a ``(channels, samples)`` array into stems.

    Args:
        source: a path to any readable audio file, or an array (then give sample_rate).
        sample_rate: the array's rate; ignored for files.

    Raises:
        AudioLoadError, StemsplitError, Cancelled.
    """
    if isinstance(source, (str, Path)):
        audio = load_audio(source)
        samples, rate = audio.samples, audio.sample_rate
    else:
        if sample_rate is None:
            raise StemsplitError("sample_rate is required when separating an array")
        samples, rate = np.asarray(source, dtype=np.float32), sample_rate
    return get_separator(model, device, options).separate(samples, rate, cancel, on_progress)
