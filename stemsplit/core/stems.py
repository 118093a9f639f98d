"""The records the engine produces: progress, finished stem audio, display masks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class StemBlock:
    """Finished stem audio for ``[start, start + n)`` at the input's own rate."""

    start: int
    audio: dict[str, np.ndarray]  # stem -> (channels, n) float32

    @property
    def length(self) -> int:
        return next(iter(self.audio.values())).shape[-1]


@dataclass(frozen=True)
class MaskBlock:
    """Masks of one finished chunk, for display.

    ``masks`` is ``(stems, bins, frames)`` float32 in [0, 1], averaged over
    channels, full band; frame ``j`` is centred at ``(frame_start + j) * hop_seconds``
    and bin ``k`` at ``k * bin_hz``. Masks of overlapping chunks overlap; later wins.
    """

    frame_start: int
    masks: np.ndarray
    hop_seconds: float
    bin_hz: float


@dataclass(frozen=True)
class Progress:
    """One step of a separation run.

    Attributes:
        fraction: 0..1 of the work done.
        elapsed_s: seconds since the run started.
        eta_s: estimated seconds left, None until a chunk has finished.
        chunk, n_chunks: chunks finished and in all.
        device: where the network runs now ("cpu", "cuda", "mps").
        stems: audio finished in this step, if any.
        masks: masks of the chunk finished in this step, if any.
    """

    fraction: float
    elapsed_s: float
    eta_s: float | None
    chunk: int
    n_chunks: int
    device: str
    stems: StemBlock | None = None
    masks: MaskBlock | None = None


@dataclass
class StemSet:
    """A separated song: stem name -> ``(channels, samples)`` float32 at ``sample_rate``."""

    sample_rate: int
    stems: dict[str, np.ndarray]
    model: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.stems)

    @property
    def length(self) -> int:
        return next(iter(self.stems.values())).shape[-1]

    def mix(self) -> np.ndarray:
        """The stems summed (equals the input up to float rounding)."""
        return np.sum(np.stack(list(self.stems.values())), axis=0, dtype=np.float32)
