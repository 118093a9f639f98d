"""Running HT-Demucs over a whole song: overlapping segments, shifts, bags of models.

Follows demucs's ``apply.py`` (MIT code) so that the result equals its
``apply_model`` (checked in the tests), but streams: the song stays on the CPU,
one segment at a time visits the device, and every stretch of output is handed
out as soon as no later segment can change it.

demucs's scheme, in the song's coordinates:

- a *stream* is one model of the bag run over the song, possibly shifted: with
  ``shifts`` the song is zero-padded by ``max_shift = 0.5 s`` at both ends and
  each shift starts at a random ``o`` in ``[0, max_shift]``, so the stream covers
  ``[o - max_shift, length)``;
- each stream is cut into segments of ``L = segment * rate`` samples every
  ``stride = (1 - overlap) * L``; a segment of ``n <= L`` real samples (the last
  one) is centred in an ``L``-sample window that takes real audio where there is
  some and zeros elsewhere, and the output is cut back to the ``n`` samples;
- segments are cross-faded with triangular weights (peak 1 in the middle) raised
  to ``transition_power`` and divided by the sum of the weights at each sample;
- shifts are averaged; the bag's models are mixed per source with its weight
  matrix, each source divided by its total weight.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import torch

from stemsplit.core.models.htdemucs.model import HTDemucs

SHIFT_SECONDS = 0.5


@dataclass
class Bag:
    """Models whose estimates are mixed per source (demucs ``BagOfModels``).

    Attributes:
        models: HT-Demucs networks with the same sources, rate and channels.
        weights: ``(models, sources)``: how much each model's estimate of each
            source counts; ``htdemucs_ft`` uses the identity (each model
            contributes only its own source).
    """

    models: list[HTDemucs]
    weights: list[list[float]]

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("a bag needs at least one model")
        first = self.models[0]
        for model in self.models:
            if (model.sources, model.samplerate, model.audio_channels) != \
                    (first.sources, first.samplerate, first.audio_channels):
                raise ValueError("the models of a bag must share sources, rate and channels")
        if len(self.weights) != len(self.models) or \
                any(len(w) != len(first.sources) for w in self.weights):
            raise ValueError("bag weights must be one row per model, one column per source")
        totals = [sum(w[s] for w in self.weights) for s in range(len(first.sources))]
        if any(t <= 0 for t in totals):
            raise ValueError("every source needs a positive total weight in the bag")

    @classmethod
    def single(cls, model: HTDemucs) -> Bag:
        return cls([model], [[1.0] * len(model.sources)])

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self.models[0].sources)

    @property
    def samplerate(self) -> int:
        return self.models[0].samplerate

    @property
    def audio_channels(self) -> int:
        return self.models[0].audio_channels

    @property
    def max_segment(self) -> Fraction:
        """The longest segment every model accepts (its training segment)."""
        return min(Fraction(m.segment) for m in self.models)

    def with_segment(self, segment: Fraction | float | None) -> Bag:
        """demucs's bag-level ``segment``: models trained on longer segments use it instead.

        Changes the models in place (as demucs does) and returns the bag.
        """
        if segment is not None:
            for model in self.models:
                if segment <= model.segment:
                    model.config = dataclasses.replace(
                        model.config, segment=Fraction(segment).limit_denominator(1_000_000))
        return self


def transition_weights(length: int, power: float = 1.0) -> torch.Tensor:
    """``(length,)`` triangular cross-fade weights, 1 at the centre, ``** power``."""
    if power < 1:
        raise ValueError("transition_power below 1 gives odd cross-fades")
    up = torch.arange(1, length // 2 + 1)
    down = torch.arange(length - length // 2, 0, -1)
    weight = torch.cat([up, down]).float()
    return (weight / weight.max()) ** power


@dataclass(frozen=True)
class Stream:
    """One model of the bag over the (possibly shifted) song.

    Attributes:
        member: index of the model in the bag.
        origin: song sample at which the stream's first segment starts (<= 0).
        length: samples the stream covers (up to the song's end).
        segment: samples per segment (the network's input).
        stride: samples between segment starts.
        factors: ``(sources,)`` weight of this stream's output per source
            (bag weight / total weight / number of shifts).
    """

    member: int
    origin: int
    length: int
    segment: int
    stride: int
    factors: tuple[float, ...]

    @property
    def starts(self) -> range:
        return range(0, self.length, self.stride)

    def span(self, k: int) -> tuple[int, int]:
        """Stream samples ``[t, t + n)`` of segment ``k``."""
        t = self.starts[k]
        return t, min(self.length - t, self.segment)

    def final_before(self, k: int, song_length: int) -> int:
        """Song samples before this index are final once segment ``k`` is added."""
        if k + 1 < len(self.starts):
            return self.origin + self.starts[k + 1]
        return song_length


def plan_streams(bag: Bag, length: int, overlap: float = 0.25,
                 segment: float | Fraction | None = None, shifts: int = 0,
                 rng: random.Random | None = None) -> list[Stream]:
    """The streams demucs's ``apply_model`` runs, in its order (model, then shift).

    Args:
        bag: the models.
        length: song samples.
        overlap: fraction of a segment shared with the next one.
        segment: seconds per segment; None: each model's own (its training segment).
        shifts: random shifts per model (0: none); offsets are drawn from ``rng``
            (a fresh ``random.Random(0)`` when None) with ``randint(0, 0.5 s)``,
            model by model, as demucs draws them from ``random``.
    """
    if not 0 <= overlap < 1:
        raise ValueError("overlap must be in [0, 1)")
    rng = rng or random.Random(0)
    n_shifts = max(shifts, 1)
    max_shift = int(SHIFT_SECONDS * bag.samplerate)
    totals = [sum(w[s] for w in bag.weights) for s in range(len(bag.sources))]
    streams = []
    for member, (model, weights) in enumerate(zip(bag.models, bag.weights, strict=True)):
        seconds = Fraction(model.segment) if segment is None else segment
        if seconds > model.segment:
            raise ValueError(f"segment {float(seconds):.2f} s is longer than the model's "
                             f"{float(model.segment):.2f} s")
        seg = int(model.samplerate * seconds)
        stride = int((1 - overlap) * seg)
        if stride <= 0:
            raise ValueError("segment too short for this overlap")
        factors = tuple(w / (t * n_shifts) for w, t in zip(weights, totals, strict=True))
        if shifts:
            for _ in range(shifts):
                offset = rng.randint(0, max_shift)
                streams.append(Stream(member, offset - max_shift, length + max_shift - offset,
                                      seg, stride, factors))
        else:
            streams.append(Stream(member, 0, length, seg, stride, factors))
    return streams


def _weight_sum(stream: Stream, weight: torch.Tensor, t0: int, t1: int) -> torch.Tensor:
    """Sum of all of ``stream``'s segment weights over its samples ``[t0, t1)``."""
    total = torch.zeros(t1 - t0)
    first = max(0, (t0 - stream.segment) // stream.stride)
    for k in range(first, len(stream.starts)):
        t, n = stream.span(k)
        if t >= t1:
            break
        a, b = max(t, t0), min(t + n, t1)
        if a < b:
            total[a - t0: b - t0] += weight[a - t: b - t]
    return total


def _window(mix: torch.Tensor, start: int, size: int) -> torch.Tensor:
    """``mix[:, start:start + size]`` with zeros outside the song; ``(C, size)``."""
    length = mix.shape[-1]
    a, b = max(start, 0), min(start + size, length)
    part = mix[:, a:b] if a < b else mix[:, :0]
    return torch.nn.functional.pad(part, (a - start, start + size - max(b, a)))


class _Accumulator:
    """The not yet final part of the output, ``(S, C, n)`` from song sample ``base``."""

    def __init__(self, sources: int, channels: int, length: int) -> None:
        self.base, self.length = 0, length
        self.buffer = torch.zeros(sources, channels, 0)

    def add(self, start: int, block: torch.Tensor) -> None:
        a, b = max(start, self.base), min(start + block.shape[-1], self.length)
        if a >= b:
            return
        need = b - self.base - self.buffer.shape[-1]
        if need > 0:
            self.buffer = torch.cat([self.buffer, self.buffer.new_zeros(
                *self.buffer.shape[:2], need)], dim=-1)
        self.buffer[..., a - self.base: b - self.base] += block[..., a - start: b - start]

    def pop(self, upto: int) -> tuple[int, torch.Tensor]:
        """Hand out ``[base, upto)`` (zeros where nothing was added) and forget it."""
        start, n = self.base, max(0, min(upto, self.length) - self.base)
        if self.buffer.shape[-1] < n:
            self.buffer = torch.cat([self.buffer, self.buffer.new_zeros(
                *self.buffer.shape[:2], n - self.buffer.shape[-1])], dim=-1)
        out, self.buffer = self.buffer[..., :n], self.buffer[..., n:]
        self.base += n
        return start, out


@dataclass(frozen=True)
class ApplyStep:
    """Progress of :func:`iter_apply` after one network call.

    Attributes:
        done, total: network calls made and to make.
        start: song sample where ``audio`` starts.
        audio: ``(S, C, n)`` output that is now final (``n`` may be 0).
    """

    done: int
    total: int
    start: int
    audio: torch.Tensor


Forward = Callable[[int, torch.Tensor], torch.Tensor]


def default_forward(bag: Bag, device: torch.device | str = "cpu") -> Forward:
    """Runs bag member ``i`` on ``(1, C, L)`` CPU input on ``device``; CPU output."""
    def forward(member: int, x: torch.Tensor) -> torch.Tensor:
        return bag.models[member](x.to(device)).float().cpu()
    return forward


def iter_apply(bag: Bag, mix: torch.Tensor, *, overlap: float = 0.25,
               segment: float | Fraction | None = None, shifts: int = 0,
               rng: random.Random | None = None, transition_power: float = 1.0,
               forward: Forward | None = None) -> Iterator[ApplyStep]:
    """Separate a whole song, yielding after every network call.

    Args:
        bag: the models (a single model: ``Bag.single(model)``).
        mix: ``(C, length)`` float32 song on the CPU.
        overlap, segment, shifts, rng: see :func:`plan_streams`.
        transition_power: sharpness of the cross-fades (>= 1).
        forward: runs bag member ``i`` on a ``(1, C, L)`` CPU tensor and returns
            its ``(1, S, C, L)`` output on the CPU; default: on the CPU.

    Yields:
        ApplyStep records; their ``audio`` blocks, concatenated, are the
        ``(S, C, length)`` separation, each sample handed out exactly once.
    """
    channels, length = mix.shape
    forward = forward or default_forward(bag)
    streams = plan_streams(bag, length, overlap, segment, shifts, rng)
    weights = {s.segment: transition_weights(s.segment, transition_power) for s in streams}
    acc = _Accumulator(len(bag.sources), channels, length)
    total = sum(len(s.starts) for s in streams)
    done = 0
    for k in range(max(len(s.starts) for s in streams)):
        # Once segment k of every stream is in, everything before `final` is final.
        final = min(stream.final_before(k, length) for stream in streams)
        active = [stream for stream in streams if k < len(stream.starts)]
        for i, stream in enumerate(active):
            t, n = stream.span(k)
            pad_left = (stream.segment - n) // 2
            x = _window(mix, stream.origin + t - pad_left, stream.segment)
            out = forward(stream.member, x[None])[0, ..., pad_left: pad_left + n]  # (S, C, n)
            w = weights[stream.segment]
            scale = w[:n] / _weight_sum(stream, w, t, t + n)
            factors = torch.tensor(stream.factors, dtype=out.dtype)[:, None, None]
            acc.add(stream.origin + t, out * scale * factors)
            done += 1
            if i == len(active) - 1:
                start, block = acc.pop(final)
            else:
                start, block = acc.base, out.new_zeros(*out.shape[:2], 0)
            yield ApplyStep(done, total, start, block)


def apply_bag(bag: Bag, mix: torch.Tensor, **kwargs) -> torch.Tensor:
    """The whole ``(S, C, length)`` separation of a ``(C, length)`` song (see iter_apply)."""
    blocks = [step.audio for step in iter_apply(bag, mix, **kwargs) if step.audio.shape[-1]]
    return torch.cat(blocks, dim=-1) if blocks else mix.new_zeros(len(bag.sources), *mix.shape)

