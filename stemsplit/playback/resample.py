"""Bring sources to the output device's rate when it refuses the song's own rate.

Stems may still be growing while the song plays (separation runs), so the
conversion is incremental: :meth:`Resampled.feed_to` converts whatever new
input has been finished since the last call, with one ``soxr.ResampleStream``
per source so the pieces join seamlessly. It runs in the caller's thread (the
GUI's), never in the audio callback. After a mask edit changed a span of the
input in place, :meth:`Resampled.refresh` converts that span again (with a
margin for the filter's reach), not the whole song.
"""

from __future__ import annotations

import math

import numpy as np
import soxr

# Input samples converted on each side of a changed span. soxr's HQ filter reaches
# ~100-200 output samples; the outer half of the margin absorbs the one-shot
# conversion's edge transient and is not written back.
MARGIN = 4096


class Resampled:
    """Output-rate copies of some sources, filled as the input becomes available.

    Args:
        sources: ``(channels, samples)`` float32 arrays, all the same length.
        in_rate: their sample rate.
        out_rate: the device's rate.
    """

    def __init__(self, sources: list[np.ndarray], in_rate: int, out_rate: int) -> None:
        self.in_rate = int(in_rate)
        self.out_rate = int(out_rate)
        self._inputs = [np.asarray(s, dtype=np.float32) for s in sources]
        self.in_length = self._inputs[0].shape[1]
        self.length = math.ceil(self.in_length * self.out_rate / self.in_rate)
        self.outputs = [np.zeros((s.shape[0], self.length), dtype=np.float32)
                        for s in self._inputs]
        self._streams = [soxr.ResampleStream(self.in_rate, self.out_rate, s.shape[0],
                                             dtype="float32") for s in self._inputs]
        self._fed = 0  # input samples consumed
        self._written = [0] * len(self._inputs)
        self.converted = 0  # input samples converted, all sources together (tests count it)

    @property
    def available(self) -> int:
        """Output samples that hold finished audio in every source."""
        return min(self._written)

    def feed_to(self, n_in: int) -> int:
        """Convert input ``[fed, n_in)``; returns the output samples now available."""
        n_in = max(self._fed, min(int(n_in), self.in_length))
        last = n_in >= self.in_length
        if n_in == self._fed and not last:
            return self.available
        for j, (src, stream) in enumerate(zip(self._inputs, self._streams, strict=True)):
            if self._written[j] >= self.length:
                continue
            # soxr wants (frames, channels) C-contiguous
            chunk = np.ascontiguousarray(src[:, self._fed:n_in].T)
            self.converted += chunk.shape[0]
            y = stream.resample_chunk(chunk, last=last)
            w = self._written[j]
            m = min(y.shape[0], self.length - w)
            self.outputs[j][:, w:w + m] = y[:m].T
            self._written[j] = w + m
        if last:
            self._written = [self.length] * len(self._inputs)  # the tail stays silent
        self._fed = n_in
        return self.available

    def refresh(self, a: int, b: int) -> None:
        """Input ``[a, b)`` changed in place (an edit): convert that span again.

        Only what was already converted is redone (the rest is converted when fed).
        The segment starts on a whole period of the rate ratio, so its output samples
        fall exactly on the full conversion's; inside the written span they agree with
        a conversion of the whole song to float32 rounding.
        """
        a, b = max(0, int(a)), min(int(b), self._fed)
        if b <= a:
            return
        g = math.gcd(self.in_rate, self.out_rate)
        p, q = self.in_rate // g, self.out_rate // g  # p input samples give q output samples
        if p > MARGIN // 4:  # an odd ratio: no aligned segment near the span
            self._reconvert()
            return
        sa = max(0, a - MARGIN)
        sa -= sa % p
        sb = min(self.in_length, b + MARGIN)
        oa = sa // p * q
        edge = MARGIN * q // p // 2
        for src, out in zip(self._inputs, self.outputs, strict=True):
            seg = np.ascontiguousarray(src[:, sa:sb].T)
            self.converted += seg.shape[0]
            y = soxr.resample(seg, self.in_rate, self.out_rate).T
            wa = oa if sa == 0 else oa + edge
            wb = oa + y.shape[1] if sb == self.in_length else oa + y.shape[1] - edge
            wb = min(wb, self.length, max(self._written))
            if wb > wa:
                out[:, wa:wb] = y[:, wa - oa: wb - oa]

    def _reconvert(self) -> None:
        """Everything fed so far, converted again from the start."""
        fed = self._fed
        self._streams = [soxr.ResampleStream(self.in_rate, self.out_rate, s.shape[0],
                                             dtype="float32") for s in self._inputs]
        self._fed, self._written = 0, [0] * len(self._inputs)
        self.feed_to(fed)

    def to_out(self, n_in: int) -> int:
        """An input sample index as an output sample index."""
        return round(n_in * self.out_rate / self.in_rate)

    def to_in(self, n_out: int) -> int:
        """An output sample index as an input sample index."""
        return round(n_out * self.in_rate / self.out_rate)
