"""The lasso region's maths: a free-hand outline's vertices and its weights on a grid.

``edit_types.Region.lasso`` builds the region; its ``weights`` calls
:func:`lasso_weights`. Coordinates along frequency are the view's: log2(Hz) for
an outline drawn on the log view, Hz on the linear one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

# A mouse path has a point per move: past this many, it is resampled along its length.
MAX_VERTICES = 512
# Past the grid (the song's ends) a lasso's outline is followed this many points (~6 s, or
# 2.8 kHz at 44.1 kHz); past that its edge value repeats.
EXTEND_POINTS = 256
# Below a grid's lowest bin, the log axis stops (as the brush keeps DC finite and far).
LOG_FLOOR_HZ = 1e-3


def _view(f: np.ndarray, log_freq: bool, floor: float = LOG_FLOOR_HZ) -> np.ndarray:
    """Frequencies (or times, with ``log_freq`` False) in the view's units."""
    f = np.asarray(f, np.float64)
    return np.log2(np.maximum(f, floor)) if log_freq else f


def _raw(v, log_freq: bool):
    """Hz (or seconds) of a view coordinate: the inverse of ``_view``."""
    return np.exp2(v) if log_freq else v


def outline_vertices(points: Iterable[tuple[float, float]],
                     log_freq: bool) -> tuple[tuple[float, float], ...]:
    """A mouse path as polygon vertices: repeats dropped, at most ``MAX_VERTICES``.

    A long path is resampled evenly along its length, measured in the view's units
    relative to the outline's extent, so its shape stays as drawn.
    """
    pts = np.asarray(list(points), np.float64).reshape(-1, 2)
    if len(pts) > 1:
        keep = np.r_[True, np.any(pts[1:] != pts[:-1], axis=1)]
        pts = pts[keep]
    if len(pts) > 1 and np.array_equal(pts[0], pts[-1]):
        pts = pts[:-1]  # the outline closes itself
    if len(pts) > MAX_VERTICES and np.isfinite(pts).all() and (
            not log_freq or pts[:, 1].min() > 0):
        uv = np.column_stack([pts[:, 0], _view(pts[:, 1], log_freq)])
        span = np.ptp(uv, axis=0)
        uv /= np.where(span > 0, span, 1.0)
        along = np.r_[0.0, np.cumsum(np.hypot(*np.diff(uv, axis=0).T))]
        # The first point of each equal stretch of the path's length.
        bucket = np.floor(along / (along[-1] / MAX_VERTICES)).astype(np.int64)
        keep = np.r_[True, bucket[1:] != bucket[:-1]]
        pts = pts[keep][:MAX_VERTICES]
    return tuple((float(t), float(f)) for t, f in pts)


def check_outline(outline: tuple[tuple[float, float], ...], log_freq: bool) -> None:
    """Raises ValueError unless the outline has 3 distinct finite points (f > 0 on log)."""
    pts = np.asarray(outline, np.float64).reshape(-1, 2)
    if not np.isfinite(pts).all():
        raise ValueError("region and edit values must be finite numbers")
    if len(np.unique(pts, axis=0)) < 3:
        raise ValueError("a lasso needs at least 3 distinct points")
    if log_freq and pts[:, 1].min() <= 0:
        raise ValueError("a log-frequency lasso needs points above 0 Hz")


def _extended(x: np.ndarray, lo: float,
              hi: float) -> tuple[np.ndarray, int, float, tuple[int, int]]:
    """``x`` (ascending, uniform) continued with its spacing to cover ``[lo, hi]``, but
    by at most ``EXTEND_POINTS`` points each way.

    The cap keeps a region that lies mostly outside the song (a 2000 s lasso over a
    10 s song once took 3.3 GB) costing what its part inside does. Past the cap the
    outline is taken to go on as it is at the cap (the blur repeats the edge there),
    which is exact for the long straight-sided regions that reach that far.

    Returns the points, the index of ``x[0]`` among them, the spacing (0: one point)
    and how many points of ``[lo, hi]`` the cap left out before and after.
    """
    if x.size < 2:
        return x, 0, 0.0, (0, 0)
    dx = (x[-1] - x[0]) / (x.size - 1)
    most = EXTEND_POINTS
    need_before = max(0, math.ceil((x[0] - lo) / dx - 1e-9))
    need_after = max(0, math.ceil((hi - x[-1]) / dx - 1e-9))
    before, after = min(most, need_before), min(most, need_after)
    return (np.r_[x[0] - dx * np.arange(before, 0, -1), x,
                  x[-1] + dx * np.arange(1, after + 1)], before, dx,
            (need_before - before, need_after - after))


def _next(x: np.ndarray) -> np.ndarray:
    """Each vertex's successor around the closed outline (``np.roll(x, -1)``, at a
    fraction of its cost: it ran six times per lasso replayed)."""
    return np.concatenate((x[1:], x[:1]))


def _inside(pu: np.ndarray, pv: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``(len(v), len(u))`` bool: grid points inside the closed polygon (even-odd).

    A scanline fill: each edge crosses the rows it spans (half-open, so a vertex on a
    row counts once); every crossing flips the points at or right of it.
    """
    au, av, bu, bv = pu, pv, _next(pu), _next(pv)
    ka = np.searchsorted(v, np.minimum(av, bv), "left")
    kb = np.searchsorted(v, np.maximum(av, bv), "left")
    counts = np.maximum(kb - ka, 0)
    edge = np.repeat(np.arange(pu.size), counts)
    starts = np.cumsum(counts) - counts
    row = ka[edge] + np.arange(edge.size) - starts[edge]
    slope = (bu - au)[edge] / (bv - av)[edge]  # rows are only crossed by non-flat edges
    cross = au[edge] + (v[row] - av[edge]) * slope
    col = np.searchsorted(u, cross, "left")
    # One byte a point: only the parity of the crossings on the left matters.
    parity = np.zeros((v.size, u.size + 1), np.uint8)
    np.bitwise_xor.at(parity, (row, col), 1)
    np.bitwise_xor.accumulate(parity, axis=1, out=parity)
    return parity[:, :-1].view(bool)


def _box_mean(m: np.ndarray, axis: int, x: np.ndarray, dx: float, log_freq: bool,
              half: float, floor: float, pads: tuple[int, int] = (0, 0)) -> np.ndarray:
    """The mean of ``m`` along ``axis`` within ``half`` view units of each point.

    Points weigh their cell's width in view units (an integral over the view, not a
    count of bins, which crowd at the top of a log axis), and the grid goes on past
    ``x`` with the spacing ``dx``, all 0 there, except for ``pads`` points each side
    that repeat the first and last values. Cumulative sums: cost per point only.
    """
    if dx <= 0 or half <= 0:
        return m

    def view(r):
        return _view(r, log_freq, floor)

    n = x.size
    idx = np.arange(n)
    v = view(x)
    lo = np.minimum(np.ceil((_raw(v - half, log_freq) - x[0]) / dx - 1e-9), idx)
    hi = np.maximum(np.floor((_raw(v + half, log_freq) - x[0]) / dx + 1e-9), idx)
    il, ih = np.clip(lo, 0, n).astype(np.int64), np.clip(hi + 1, 0, n).astype(np.int64)
    # The window's total width telescopes: the edges of its first and last cells.
    width = view(x[0] + (hi + 0.5) * dx) - view(x[0] + (lo - 0.5) * dx)
    moved = np.moveaxis(m, axis, 0)
    if log_freq:
        cell = view(x + dx / 2) - view(x - dx / 2)
        total = np.zeros((n + 1, *moved.shape[1:]), np.float64)
        np.multiply(moved, cell[:, None], out=total[1:])
    else:
        # Equal cells: sums of 0s and 1s, exact in float32 (a full window gives 1).
        total = np.zeros((n + 1, *moved.shape[1:]), np.float32)
        total[1:] = moved
        width = (hi - lo + 1).astype(np.float64)
    np.cumsum(total[1:], axis=0, out=total[1:])
    out = total[ih]
    out -= total[il]
    if pads != (0, 0):
        def cells(a, b):  # the view width of points a..b (inclusive; none when b < a)
            if not log_freq:
                return np.maximum(b - a + 1, 0).astype(np.float64)
            w = view(x[0] + (b + 0.5) * dx) - view(x[0] + (a - 0.5) * dx)
            return np.where(b >= a, w, 0.0)
        left = cells(np.maximum(lo, -pads[0]), np.minimum(hi, -1))
        right = cells(np.maximum(lo, n), np.minimum(hi, n - 1 + pads[1]))
        for weight, edge in ((left, moved[0]), (right, moved[-1])):
            rows = np.flatnonzero(weight)  # only windows that reach past the cap
            if rows.size:
                out[rows] += (weight[rows, None] * edge.reshape(1, -1)).astype(out.dtype)
    out /= np.where(width > 0, width, np.inf)[:, None].astype(out.dtype)
    return np.moveaxis(out, 0, axis)


def mean_widths(pu: np.ndarray, pv: np.ndarray) -> tuple[float, float]:
    """The outline's mean width along time and along frequency (view units).

    The inside's area over half the length its rows cross (the sum of the edges'
    spans): a rectangle's width and height, and a thin diagonal sliver's own
    thickness, not its long bounding box (a feather sized by that would eat it).
    A self-crossing outline's loops may cancel: then 0, and the edges stay hard.
    """
    nu, nv = _next(pu), _next(pv)
    du, dv = nu - pu, nv - pv
    area = abs(float(np.sum(pu * nv - nu * pv))) / 2
    span_u, span_v = float(np.abs(du).sum()), float(np.abs(dv).sum())
    return (2 * area / span_v if span_v > 0 else 0.0,
            2 * area / span_u if span_u > 0 else 0.0)


def lasso_weights(r, t: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``(len(t), len(f))`` weights of a lasso region on grid points within its box.

    1 inside the outline, 0 outside. With feather, a box blur of that (separable, in
    the view's units, ``feather / 2`` of the outline's mean width each way: a
    rectangle's feather) gives 0.5 on the outline and 1 deep inside; a raised cosine
    of it, kept inside only, falls smoothly to 0 at the outline and never spills out.
    """
    pts = np.asarray(r.outline, np.float64)
    log = r.log_freq
    floor = (f[1] - f[0]) / 2 if log and f.size > 1 and f[1] > f[0] else LOG_FLOOR_HZ
    pu, pv = pts[:, 0], _view(pts[:, 1], log)
    width_t, width_v = mean_widths(pu, pv)
    half_t, half_v = r.feather * width_t / 2, r.feather * width_v / 2
    if half_t > 0 and half_v > 0:
        # Past the given grid (beyond the song's ends), the outline still decides.
        tt, it, dt, pad_t = _extended(t, max(r.t0, t[0] - half_t),
                                      min(r.t1, t[-1] + half_t))
        f_lo = _raw(_view(f[0], log, floor) - half_v, log)
        f_hi = _raw(_view(f[-1], log, floor) + half_v, log)
        ff, jf, df, pad_f = _extended(f, max(r.f0, f_lo), min(r.f1, f_hi))
    else:
        (tt, it, dt, pad_t), (ff, jf, df, pad_f) = (t, 0, 0.0, (0, 0)), (f, 0, 0.0, (0, 0))
    m = _inside(pu, pv, tt, _view(ff, log, floor)).astype(np.float32)
    if half_t > 0 and half_v > 0:
        blur = _box_mean(m, 1, tt, dt, False, half_t, floor, pad_t)
        blur = _box_mean(blur, 0, ff, df, log, half_v, floor, pad_f)
        ramp = np.clip(2 * blur.astype(np.float32) - 1, 0.0, 1.0)
        soft = (ramp > 0) & (ramp < 1)
        ramp[soft] = 0.5 - 0.5 * np.cos(np.pi * ramp[soft])   # raised cosine
        m *= ramp
    return m[jf: jf + f.size, it: it + t.size].T
