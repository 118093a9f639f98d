"""Classic mask-based separators: pure functions from a mixture spectrogram to stem masks.

Shapes: C audio channels, K frequency bins, T frames, S stems. Every function
returns ``(S, C, K, T)`` float32 masks in [0, 1] that sum to one over S, so the
masked stems sum back to the mixture exactly (the engine keeps that property).
"""

from __future__ import annotations

import numpy as np
import torch

# Bins below this many Hz go to the repeating background in REPET-SIM (Rafii & Pardo
# keep the low end, where bass and kick repeat, out of the foreground).
REPET_HIGH_PASS_HZ = 100.0


def odd_size(value: float, unit: float) -> int:
    """A kernel size in frames or bins from seconds or Hz: the nearest odd count, >= 1."""
    n = max(1, int(round(value / unit)))
    return n if n % 2 else n + 1


def median_filter(x: torch.Tensor, size: int, dim: int, block: int = 64) -> torch.Tensor:
    """Median over a centred window of ``size`` (odd) along ``dim``, edges mirrored.

    Matches ``scipy.ndimage.median_filter(..., mode="reflect")`` (half-sample
    symmetric edges: d c b a | a b c d). numpy's introselect (``partition``) over
    sliding windows, ``block`` rows at a time so the copies stay small; ~3x
    faster than scipy's filter here and needs no scipy.
    """
    if size <= 1:
        return x.clone()
    half = size // 2
    moved = x.movedim(dim, -1).numpy()
    n = moved.shape[-1]
    idx = np.mod(np.arange(-half, n + half), 2 * n)
    idx = np.where(idx >= n, 2 * n - 1 - idx, idx)  # mirror, repeatedly if the window is wide
    flat = moved.reshape(-1, n)
    out = np.empty_like(flat)
    for a in range(0, flat.shape[0], block):
        windows = np.lib.stride_tricks.sliding_window_view(flat[a: a + block][:, idx], size,
                                                           axis=-1)
        out[a: a + block] = np.partition(windows, half, axis=-1)[..., half]
    return torch.from_numpy(out.reshape(moved.shape)).movedim(-1, dim)


def soft_mask(x: torch.Tensor, ref: torch.Tensor, power: float,
              split_zeros: bool) -> torch.Tensor:
    """``x^p / (x^p + ref^p)``, scaled by the larger value first (as librosa.util.softmask).

    Where both are (numerically) zero the mask is 0.5 with ``split_zeros``, else 0.
    """
    z = torch.maximum(x, ref)
    bad = z < torch.finfo(x.dtype).tiny
    z = torch.where(bad, torch.ones_like(z), z)
    m = (x / z) ** power
    r = (ref / z) ** power
    mask = torch.where(bad, torch.full_like(m, 0.5 if split_zeros else 0.0), m / (m + r))
    return mask


def hpss_masks(mag: torch.Tensor, harmonic_frames: int, percussive_bins: int,
               margin: float = 1.0, power: float = 2.0) -> torch.Tensor:
    """Harmonic / percussive (/ residual) masks by median filtering (Fitzgerald 2010).

    A held note is a horizontal line in the spectrogram (smooth along time), a
    drum hit a vertical one (smooth along frequency); each median filter keeps one
    kind. Equal to ``librosa.decompose.hpss(mag, kernel_size=(harmonic_frames,
    percussive_bins), margin=margin, power=power, mask=True)``.

    Args:
        mag: ``(C, K, T)`` magnitude spectrogram.
        margin: > 1 leaves what is clearly neither in a third, residual stem.

    Returns:
        ``(2, C, K, T)`` harmonic, percussive masks (margin 1) or ``(3, C, K, T)``
        harmonic, percussive, residual (margin > 1).
    """
    if margin < 1:
        raise ValueError("the HPSS margin must be at least 1")
    harm = median_filter(mag, harmonic_frames, dim=-1)
    perc = median_filter(mag, percussive_bins, dim=-2)
    split = margin == 1
    mask_h = soft_mask(harm, perc * margin, power, split)
    mask_p = soft_mask(perc, harm * margin, power, split)
    if split:
        return torch.stack([mask_h, 1.0 - mask_h])  # exactly one: librosa's are, up to rounding
    return torch.stack([mask_h, mask_p, (1.0 - mask_h - mask_p).clamp_min(0.0)])


def repet_sim_masks(mag: torch.Tensor, bin_hz: float, hop_s: float,
                    min_distance_s: float = 1.0, max_repeats: int = 100,
                    min_similarity: float = 0.0, block: int = 32) -> torch.Tensor:
    """Foreground / repeating background masks by REPET-SIM (Rafii & Pardo 2012).

    Frames that sound alike (cosine similarity of their magnitude spectra) are
    found for every frame; the median over those frames is what repeats (the
    accompaniment), and what does not repeat (usually the voice) is foreground.

    Args:
        mag: ``(C, K, T)`` magnitude spectrogram.
        min_distance_s: neighbours of a frame are at least this far apart in time.
        max_repeats: at most this many similar frames per frame.
        min_similarity: ignore frames less similar than this.

    Returns:
        ``(2, C, K, T)`` foreground, background soft masks.
    """
    c, k, t = mag.shape
    mono = mag.mean(dim=0)                                        # (K, T)
    unit = mono / mono.norm(dim=0, keepdim=True).clamp_min(1e-12)
    sim = unit.T @ unit                                           # (T, T) cosine similarity
    neighbours = _similar_frames(sim, max(1, int(round(min_distance_s / hop_s))),
                                 max_repeats, min_similarity)     # (T, R) indices, -1 = none
    counts = (neighbours >= 0).sum(dim=1)                         # (T,) at least 1 (itself)
    neighbours = neighbours[:, : int(counts.max())]               # drop all-empty columns
    valid = neighbours >= 0
    safe = neighbours.clamp_min(0)
    repeating = torch.empty_like(mag)
    for a in range(0, t, block):
        gathered = mag[:, :, safe[a: a + block]]                  # (C, K, b, R)
        gathered = torch.where(valid[a: a + block], gathered, torch.full_like(gathered, np.inf))
        lower_middle = ((counts[a: a + block] - 1) // 2).view(1, 1, -1, 1)
        ordered = gathered.sort(dim=-1).values                    # missing ones sort last
        repeating[:, :, a: a + block] = ordered.gather(
            -1, lower_middle.expand(c, k, -1, 1)).squeeze(-1)     # torch.median's choice
    repeating = torch.minimum(repeating, mag)
    background = torch.where(mag > 1e-12, repeating / mag.clamp_min(1e-12),
                             torch.ones_like(mag))
    low = int(np.ceil(REPET_HIGH_PASS_HZ / bin_hz))
    background[:, : low + 1] = 1.0
    background = background.clamp(0.0, 1.0)
    return torch.stack([1.0 - background, background])


def _similar_frames(sim: torch.Tensor, min_distance: int, max_repeats: int,
                    min_similarity: float) -> torch.Tensor:
    """For each frame, the most similar frames as peaks at least ``min_distance`` apart.

    Each frame always counts itself, so every frame has at least one neighbour.
    Returns ``(T, R)`` frame indices padded with -1.
    """
    t = sim.shape[0]
    r = min(max_repeats, t)
    # Local maxima of each row within +-min_distance: a crude but standard peak picking.
    pad = min_distance
    padded = torch.nn.functional.pad(sim[None], (pad, pad), value=float("-inf"))[0]
    local_max = torch.nn.functional.max_pool1d(padded[None], 2 * pad + 1, stride=1)[0]
    peaks = (sim >= local_max) & (sim >= min_similarity)
    peaks |= torch.eye(t, dtype=torch.bool)
    scores = torch.where(peaks, sim, torch.full_like(sim, float("-inf")))
    top = scores.topk(r, dim=1)
    return torch.where(torch.isfinite(top.values), top.indices, torch.full_like(top.indices, -1))


def centre_masks(spec: torch.Tensor, width: float = 0.2, floor: float = 0.0) -> torch.Tensor:
    """Centre / sides masks from stereo panning (Avendano & Jot 2004).

    Each bin's panning index is 0 for a source panned dead centre (equal in
    both channels, as a lead vocal usually is) and +-1 hard left or right; a
    Gaussian window of ``width`` around 0 gives the centre's share.

    Args:
        spec: ``(2, K, T)`` complex stereo spectrum.
        width: standard deviation of the window in panning-index units.
        floor: the centre's share of fully panned bins.

    Returns:
        ``(2, 2, K, T)`` centre, sides masks (the same for both channels).
    """
    if spec.shape[0] != 2:
        raise ValueError("centre extraction needs two channels")
    left, right = spec[0], spec[1]
    pl, pr = left.abs().square(), right.abs().square()
    total = pl + pr
    similarity = 2 * (left * right.conj()).abs() / total.clamp_min(1e-20)
    direction = torch.sign(pl - pr)
    index = (1 - similarity).clamp(0, 1) * direction          # panning index in [-1, 1]
    centre = floor + (1 - floor) * torch.exp(-0.5 * (index / width) ** 2)
    centre = torch.where(total > 1e-20, centre, torch.full_like(centre, 0.5))
    centre = centre.float().expand(2, -1, -1)
    return torch.stack([centre, 1.0 - centre])
