"""The STFT arithmetic of mask edits: the grid, a span's spectra, the operations.

Everything here works on a *span* of frames ``[ja, jb)`` of the song's STFT
(centred frames, zero-padded ends, as ``dsp.stft``), so an edit costs what its
region covers, not what the song lasts. Shapes: S stems, C channels, F frames
of the span, K bins (``n_fft // 2 + 1``), B bins of the region's band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from stemsplit.core.editing.edits import Edit
from stemsplit.core.engine.dsp import magnitude_shares

# Below this a stem's magnitude counts as silence when sharing energy out (float32 audio).
SILENCE = 1e-12
# Frames per block of a long edit (~1.5 s at 44.1 kHz): bounds the spectra held at once,
# and blocks that stay in the CPU caches ran ~2x faster than 256 frames (measured).
BLOCK_FRAMES = 64


@dataclass(frozen=True)
class EditGrid:
    """The STFT grid edits work on, at the stems' own rate.

    Frame ``j`` is centred at sample ``j * hop`` (``j * hop_seconds`` s); bin ``k`` at
    ``k * bin_hz`` Hz; the song has ``frames = 1 + n // hop`` frames and
    ``bins = n_fft // 2 + 1`` bins.
    """

    sample_rate: int
    n_fft: int
    hop: int
    frames: int

    @classmethod
    def for_song(cls, sample_rate: int, length: int) -> EditGrid:
        """4096 / 1024 at 44.1 kHz (Spleeter's grid), the same duration at other rates
        (rounded to a power of two, so the FFT stays fast)."""
        n_fft = int(4096 * 2.0 ** round(math.log2(sample_rate / 44100)))
        n_fft = max(256, n_fft)
        hop = n_fft // 4  # periodic Hann at 75 % overlap: squared window sums to 1.5 (COLA)
        return cls(int(sample_rate), n_fft, hop, 1 + length // hop)

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def hop_seconds(self) -> float:
        return self.hop / self.sample_rate

    @property
    def bin_hz(self) -> float:
        return self.sample_rate / self.n_fft

    def frame_span_of_samples(self, a: int, b: int) -> tuple[int, int]:
        """Frames ``[ja, jb)`` whose windows overlap samples ``[a, b)``."""
        if b <= a:
            return 0, 0
        half = self.n_fft // 2
        ja = max(0, (a - half) // self.hop + 1)
        jb = min(self.frames, -(-(b + half) // self.hop))
        return ja, max(ja, jb)

    def samples_of_frames(self, ja: int, jb: int, length: int) -> tuple[int, int]:
        """Samples ``[a, b)`` (within the song) under the windows of frames ``[ja, jb)``."""
        half = self.n_fft // 2
        # The periodic Hann window is 0 at its first sample, so that one never changes.
        return (int(max(0, ja * self.hop - half + 1)),
                int(min(length, (jb - 1) * self.hop + half)))


@dataclass(frozen=True)
class Plan:
    """Where an edit acts: frames ``[ja, jb)``, bins ``[k0, k1)``, weights ``(F, B)``."""

    ja: int
    jb: int
    k0: int
    k1: int
    weights: np.ndarray


def plan_edit(edit: Edit, grid: EditGrid) -> Plan | None:
    """The edit's soft region on the grid, cropped to where it is non-zero; None if empty."""
    r = edit.region
    ja = max(0, math.ceil(r.t0 / grid.hop_seconds - 1e-9))
    jb = min(grid.frames, math.floor(r.t1 / grid.hop_seconds + 1e-9) + 1)
    k0 = max(0, math.ceil(r.f0 / grid.bin_hz - 1e-9))
    k1 = min(grid.bins, math.floor(r.f1 / grid.bin_hz + 1e-9) + 1)
    if ja >= jb or k0 >= k1:
        return None
    if (edit.amount == 1.0) if edit.op == "scale" else (edit.amount == 0.0):
        return None  # factor 1 or strength 0: nothing moves
    w = r.weights(np.arange(ja, jb) * grid.hop_seconds, np.arange(k0, k1) * grid.bin_hz)
    rows, cols = np.flatnonzero(w.any(axis=1)), np.flatnonzero(w.any(axis=0))
    if rows.size == 0:
        return None
    w = w[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    return Plan(ja + int(rows[0]), ja + int(rows[-1]) + 1, k0 + int(cols[0]),
                k0 + int(cols[-1]) + 1,
                np.ascontiguousarray(w))


def span_spectra(arrays: list[np.ndarray], grid: EditGrid, ja: int, jb: int) -> torch.Tensor:
    """STFT frames ``[ja, jb)`` of each array, exactly as ``dsp.stft`` of the whole song.

    Args:
        arrays: S arrays ``(C, n)`` float32.

    Returns:
        ``(S, C, F, K)`` complex64.
    """
    n = arrays[0].shape[-1]
    start = ja * grid.hop - grid.n_fft // 2
    size = (jb - ja - 1) * grid.hop + grid.n_fft
    window = _window(grid.n_fft)
    frames = torch.empty((len(arrays), arrays[0].shape[0], jb - ja, grid.n_fft))
    if start >= 0 and start + size <= n:
        # Inside the song the frames are windowed straight from the stems (no padded copy).
        for i, x in enumerate(arrays):
            seg = torch.from_numpy(x[:, start: start + size])
            torch.mul(seg.unfold(-1, grid.n_fft, grid.hop), window, out=frames[i])
    else:
        seg = np.zeros((len(arrays), arrays[0].shape[0], size), np.float32)
        a, b = max(0, start), min(n, start + size)
        if b > a:
            for i, x in enumerate(arrays):
                seg[i, :, a - start: b - start] = x[:, a:b]
        torch.mul(torch.from_numpy(seg).unfold(-1, grid.n_fft, grid.hop), window, out=frames)
    return torch.fft.rfft(frames, dim=-1)


def overlap_add(spec: torch.Tensor, grid: EditGrid, ja: int, jb: int) -> np.ndarray:
    """Least-squares inverse STFT of frames ``[ja, jb)`` (other frames taken as zero).

    Args:
        spec: ``(..., F, K)`` complex64.

    Returns:
        ``(..., (F - 1) * hop + n_fft)`` float32 from song sample ``ja * hop - n_fft/2``,
        divided by the squared-window sum of *all* the song's frames, as ``dsp.istft``.
    """
    frames = torch.fft.irfft(spec, n=grid.n_fft, dim=-1)
    frames *= _window(grid.n_fft)
    out = _ola(frames, grid.hop)
    # The envelope counts every song frame over these samples, incl. neighbours of the span.
    reach = grid.n_fft // grid.hop - 1
    ea, eb = max(0, ja - reach), min(grid.frames, jb + reach)
    if ea == ja - reach and eb == jb + reach:
        # Away from the song's ends every hop of it is the same: divide hop by hop.
        steady = _steady_envelope(grid.n_fft, grid.hop)
        blocks = out.view(*out.shape[:-1], -1, grid.hop)
        blocks /= steady
        return out.numpy()
    env = _ola(_window(grid.n_fft).square().expand(eb - ea, grid.n_fft), grid.hop)
    off = (ja - ea) * grid.hop
    env = env[off: off + out.shape[-1]]
    if env.shape[-1] < out.shape[-1]:  # the span's tail lies past the last frame's reach
        env = torch.nn.functional.pad(env, (0, out.shape[-1] - env.shape[-1]))
    return (out / env.clamp_min(1e-10)).numpy()


_STEADY: dict[tuple[int, int], torch.Tensor] = {}


def _steady_envelope(n_fft: int, hop: int) -> torch.Tensor:
    """``(hop,)``: the squared-window sum over a hop that every frame around covers,
    summed as ``overlap_add`` sums it (the same floats)."""
    if (n_fft, hop) not in _STEADY:
        parts = n_fft // hop
        env = _ola(_window(n_fft).square().expand(2 * parts - 1, n_fft), hop)
        _STEADY[n_fft, hop] = env[(parts - 1) * hop: parts * hop].clamp_min(1e-10).clone()
    return _STEADY[n_fft, hop]


def _ola(frames: torch.Tensor, hop: int) -> torch.Tensor:
    """``(..., F, n_fft)`` -> ``(..., (F - 1) * hop + n_fft)``: frames summed hop apart."""
    *lead, n_frames, n_fft = frames.shape
    parts = n_fft // hop
    out = frames.new_zeros((*lead, n_frames + parts - 1, hop))
    for q in range(parts):  # n_fft is a multiple of hop: add each quarter as whole blocks
        out[..., q: q + n_frames, :] += frames[..., q * hop: (q + 1) * hop]
    return out.reshape(*lead, -1)


_WINDOWS: dict[int, torch.Tensor] = {}


def _window(n_fft: int) -> torch.Tensor:
    if n_fft not in _WINDOWS:
        _WINDOWS[n_fft] = torch.hann_window(n_fft, periodic=True)
    return _WINDOWS[n_fft]


def edit_deltas(spec: torch.Tensor, weights: np.ndarray, edit: Edit, k: int) -> torch.Tensor:
    """How each stem's spectrum changes in the edit's band; the changes sum to zero.

    Args:
        spec: ``(S, C, F, B)`` complex64, the current stems' band.
        weights: ``(F, B)`` the region's weights there.
        edit: the operation.
        k: index of ``edit.stem``.

    Returns:
        ``(S, C, F, B)`` complex64 deltas D_i with sum_i D_i = 0 (linear combinations
        of the S_j, so no energy appears that the mixture does not have).
    """
    w = torch.from_numpy(np.ascontiguousarray(weights))
    others = [j for j in range(spec.shape[0]) if j != k]
    if edit.op == "assign":
        return _take_into(spec, k, others, w * edit.amount)
    if edit.op == "remove":
        return _give_out(spec, k, others, w * edit.amount)
    if edit.amount < 1:
        return _give_out(spec, k, others, w * (1 - edit.amount))
    return _take_into(spec, k, others, _raise_share(spec, k, 1 + w * (edit.amount - 1)))


def _raise_share(spec: torch.Tensor, k: int, gain: torch.Tensor) -> torch.Tensor:
    """``(C, F, B)`` c in [0, 1] with |S_k + c D| = gain |S_k|, D = the others' sum.

    So the stem's share |S_k| / |X| (what the display masks show) is multiplied by
    ``gain`` exactly, whatever the stems' phases, until c = 1 gives it the whole mix.
    |S_k + c D|^2 = gain^2 |S_k|^2 is the quadratic dd c^2 + 2 r c - q = 0.
    """
    sk = spec[k]
    d = spec.sum(dim=0) - sk
    r = (sk.conj() * d).real
    dd = d.abs().square()
    q = (gain.square() - 1) * sk.abs().square()
    root = torch.sqrt(r.square() + dd * q)
    # Its positive root, in the form without cancellation for the sign of r.
    c = torch.where(r > 0, q / (r + root).clamp_min(SILENCE), (root - r) / dd.clamp_min(SILENCE))
    return torch.where(dd > SILENCE, c, torch.zeros_like(c)).clamp(0, 1)


def _take_into(spec: torch.Tensor, k: int, others: list[int], c: torch.Tensor) -> torch.Tensor:
    """D_j = -c S_j for j != k, D_k = c sum_{j != k} S_j."""
    delta = torch.empty_like(spec)
    delta[others] = -c * spec[others]
    delta[k] = -delta[others].sum(dim=0)
    return delta


def _give_out(spec: torch.Tensor, k: int, others: list[int], c: torch.Tensor) -> torch.Tensor:
    """D_k = -c S_k; the others get it by their magnitude share (evenly where all silent)."""
    delta = torch.empty_like(spec)
    delta[k] = -c * spec[k]
    mag = spec[others].abs()                                             # (S-1, C, F, B)
    total = mag.sum(dim=0, keepdim=True)
    share = torch.where(total > SILENCE, mag / total.clamp_min(SILENCE),
                        torch.full_like(mag, 1.0 / len(others)))
    delta[others] = -share * delta[k]
    return delta


def stems_read(edit: Edit, k: int, count: int) -> list[int]:
    """The stems whose spectra an edit needs. Of two, assign reads only the other one
    and remove (or scale down) only its own: the other's share of what moves is all of it."""
    if count == 2:
        if edit.op == "assign":
            return [1 - k]
        if edit.op == "remove" or edit.amount < 1:
            return [k]
    return list(range(count))


def _first_delta(spec: torch.Tensor, weights: np.ndarray, edit: Edit, k: int) -> torch.Tensor:
    """Of two stems, the first one's delta ``(1, C, F, B)`` from the one spectrum
    ``stems_read`` names: the same floats as ``edit_deltas(...)[:1]``, at half its reads."""
    w = torch.from_numpy(np.ascontiguousarray(weights))
    if edit.op == "assign":
        moved = -(w * edit.amount) * spec        # the other stem's delta, -c S_other
        return -moved if k == 0 else moved
    c = w * edit.amount if edit.op == "remove" else w * (1 - edit.amount)
    own = -c * spec                              # the stem's own delta, -c S_k
    return own if k == 0 else -own               # its share to the other is all of it


def apply_plan(arrays: list[np.ndarray], mix: np.ndarray, grid: EditGrid, plan: Plan,
               edit: Edit, k: int) -> tuple[int, int]:
    """Apply an edit in place to ``arrays`` (S stems ``(C, n)`` float32).

    Only the samples under the plan's frames change; there the last stem becomes
    ``mix - others``, so the stems sum to the mix in float32.

    Returns:
        The sample range ``[a, b)`` that was written.
    """
    n = arrays[0].shape[-1]
    last = len(arrays) - 1
    reads = stems_read(edit, k, len(arrays))
    origin = plan.ja * grid.hop - grid.n_fft // 2             # song sample of delta[..., 0]
    delta = None
    # Long regions go in blocks of frames so memory stays bounded; every block reads the
    # stems as they were before the edit and the changes are added together at the end.
    for ca in range(plan.ja, plan.jb, BLOCK_FRAMES):
        cb = min(plan.jb, ca + BLOCK_FRAMES)
        spec = span_spectra([arrays[i] for i in reads], grid, ca, cb)[..., plan.k0: plan.k1]
        weights = plan.weights[ca - plan.ja: cb - plan.ja]
        if len(reads) < len(arrays):
            band = _first_delta(spec[0], weights, edit, k)[None]
        else:
            # The last stem's own change is implied by the sum, so only the others are inverted.
            band = edit_deltas(spec, weights, edit, k)[:last]
        full = band.new_zeros((*band.shape[:-1], grid.bins))
        full[..., plan.k0: plan.k1] = band
        audio = overlap_add(full, grid, ca, cb)                       # (S-1, C, L)
        if plan.jb - plan.ja <= BLOCK_FRAMES:
            delta = audio
            break
        if delta is None:
            delta = np.zeros((last, arrays[0].shape[0],
                              (plan.jb - plan.ja - 1) * grid.hop + grid.n_fft), np.float32)
        off = (ca - plan.ja) * grid.hop
        delta[..., off: off + audio.shape[-1]] += audio
    a, b = grid.samples_of_frames(plan.ja, plan.jb, n)
    for i in range(last):
        arrays[i][:, a:b] += delta[i, :, a - origin: b - origin]
    set_last(arrays, mix, a, b)
    return a, b


def set_last(arrays: list[np.ndarray], mix: np.ndarray, a: int, b: int) -> None:
    """``last = mix - sum(others)`` over ``[a, b)``, written in place (no temporaries for
    two stems: fresh memory costs page faults that were most of a long edit's time)."""
    others = arrays[:-1]
    total = others[0][:, a:b]
    if len(others) > 1:
        total = total.copy()
        for x in others[1:]:
            total += x[:, a:b]
    np.subtract(mix[:, a:b], total, out=arrays[-1][:, a:b])


def share_masks(arrays: list[np.ndarray], mix: np.ndarray, grid: EditGrid,
                ja: int, jb: int) -> np.ndarray:
    """``(S, K, F)`` float32: each stem's share of each bin over frames ``[ja, jb)``
    (``dsp.magnitude_shares``: summing to one over the stems, as the engines' masks).

    ``mix`` is unused (the stems sum to it); it stays in the signature for callers.
    """
    del mix
    spec = span_spectra(list(arrays), grid, ja, jb).abs()               # (S, C, F, K)
    shares = magnitude_shares(spec)                                      # (S, F, K)
    return np.ascontiguousarray(shares.transpose(-1, -2).numpy(), dtype=np.float32)
