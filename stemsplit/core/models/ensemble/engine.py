"""The ensemble engine: runs each member model in turn and combines the stems they share.

Members run one after another on the same device (only one is loaded at a
time, so an ensemble needs no more memory than its largest member plus the
finished stems). Progress is the members' progress, scaled; the stems and their
display masks come at the end, when they can be combined. The last stem is the
input minus the others, so the stems sum to the input exactly.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch

from stemsplit.core.engine.display_masks import DisplayMasks
from stemsplit.core.engine.precision import resolve_precision
from stemsplit.core.engine.separator import EngineOptions, Separator, check_input
from stemsplit.core.errors import Cancelled
from stemsplit.core.models.ensemble.combine import combine
from stemsplit.core.models.ensemble.spec import EnsembleSpec
from stemsplit.core.models.info import ModelInfo
from stemsplit.core.stems import Progress, StemBlock, StemSet

LoadMember = Callable[[str], Separator]


def shared_stems(members: list[ModelInfo]) -> tuple[tuple[str, ...], str]:
    """The stems combined (those every member has) and the name of the remainder stem.

    The remainder is named after the first member's last stem; the combined stems
    are the shared ones other than that, in the first member's order.
    """
    first = members[0]
    rest = first.stems[-1]
    combined = tuple(s for s in first.stems
                     if s != rest and all(s in m.stems for m in members[1:]))
    return combined, rest


class EnsembleSeparator(Separator):
    """Separates with several models and combines their stems."""

    def __init__(self, info: ModelInfo, spec: EnsembleSpec, members: list[ModelInfo],
                 load_member: LoadMember, device: torch.device | None = None,
                 options: EngineOptions | None = None) -> None:
        self.info, self.spec, self.members = info, spec, members
        # the Wiener post-filter, if asked for, refines the combined stems (members run
        # without it); precision is what the members are asked to run in
        self.options = options or EngineOptions()
        self.load_member = load_member
        self.combined, self.rest = shared_stems(members)
        self.device = device or torch.device("cpu")
        self.device_name = self.device.type
        self.precision = resolve_precision(self.options.precision, self.device)

    def _iter_stems(self, audio: np.ndarray, sample_rate: int,
                      cancel: threading.Event | None = None) -> Iterator[Progress]:
        """Separate ``(channels, samples)`` audio; the stems come in the last record.

        Raises:
            Cancelled: when ``cancel`` is set (checked by every member and between them).
        """
        source = check_input(audio, sample_rate)
        started = time.perf_counter()
        n_members = len(self.members)
        estimates: dict[str, list[np.ndarray]] = {s: [] for s in self.combined}
        yield Progress(0.0, 0.0, None, 0, n_members, self.device_name)
        for index, member in enumerate(self.members):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            separator = self.load_member(member.name)
            # a member may fall back to the CPU (out of memory): report where it runs
            self.device_name = getattr(getattr(separator, "device", None), "type",
                                       self.device.type)
            out = {s: np.zeros_like(source) for s in self.combined}
            for p in separator.iter_separate(source, sample_rate, cancel):
                if p.stems is not None:
                    for s in self.combined:
                        block = p.stems.audio[s]
                        out[s][:, p.stems.start: p.stems.start + block.shape[-1]] = block
                fraction = (index + p.fraction) / n_members
                elapsed = time.perf_counter() - started
                eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
                if fraction < 1:
                    yield Progress(fraction, elapsed, eta, index, n_members, self.device_name)
            for s in self.combined:
                estimates[s].append(out[s])
            del separator, out
            gc.collect()  # one member in memory at a time
        stems = {s: combine(estimates[s], self.spec.weights, self.spec.method)
                 for s in self.combined}
        stems[self.rest] = source - np.sum(np.stack(list(stems.values())), axis=0)
        masks = DisplayMasks(source, sample_rate).push(
            0, np.stack([stems[s] for s in self.stems]), last=True)
        elapsed = time.perf_counter() - started
        yield Progress(1.0, elapsed, 0.0, n_members, n_members, self.device_name,
                       stems=StemBlock(0, stems), masks=masks)

    def separate(self, audio: np.ndarray, sample_rate: int,
                 cancel: threading.Event | None = None, on_progress=None) -> StemSet:
        result = super().separate(audio, sample_rate, cancel, on_progress)
        result.meta["ensemble"] = self.spec.text()
        return result
