"""The records of a mask edit: a soft time x frequency ``Region`` and an ``Edit`` on it.

Both are frozen and JSON-serialisable (the project file stores them); see
``stemsplit.core.editing.editor`` for how they are applied.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from stemsplit.core.editing.lasso import (
    MAX_VERTICES,
    check_outline,
    lasso_weights,
    outline_vertices,
)

OPS = ("assign", "remove", "scale")
# Brush segments measured together (see _brush_weights).
SEGMENT_GROUP = 16
# A brush point closer than this (in radii) to the last one kept adds nothing visible
# (the distance to the stroke moves by less): dropped, so a stroke's cost follows its
# length in radii, not its number of mouse moves (3000 points under a huge radius: 24 s).
STROKE_TOLERANCE = 1 / 32


def _finite(*values: float) -> None:
    if not all(math.isfinite(v) for v in values):
        raise ValueError("region and edit values must be finite numbers")


@dataclass(frozen=True)
class Region:
    """A soft time x frequency area: a feathered rectangle, a brush stroke or a lasso.

    Attributes:
        t0, t1: bounding box in seconds from the song's start (sorted on creation).
        f0, f1: bounding box in Hz (sorted on creation). Parts before 0 s, after the
            song's end or above Nyquist are simply not there (clipped, never an error).
        feather: 0 = hard edges .. 1 = fully soft. Rectangle: on each axis the weight
            rises from 0 at the edge to 1 over ``feather / 2`` of the box's size
            (a raised cosine), so ``feather=1`` is a Hann bump peaking in the middle;
            time in seconds, frequency in Hz. Brush: the weight is 1 up to
            ``1 - feather`` of the radius from the stroke, then a cosine down to 0
            at the radius. Lasso: 1 inside the outline, falling smoothly to 0 at it
            from inside over about ``feather / 2`` of the inside's mean width on
            each axis (a rectangle's feather; see ``edit_lasso.lasso_weights``).
        strokes: the brush's path as ``(t_s, f_hz)`` points (a polyline); empty for
            a rectangle. The brush paints only inside the bounding box.
        radius_s: the brush radius along time, seconds.
        radius_oct: the brush radius along frequency in octaves (round on the log
            frequency view); used when ``radius_hz`` is 0.
        radius_hz: the brush radius along frequency in Hz (round on the linear view).
        outline: the lasso's closed polygon as ``(t_s, f_hz)`` vertices (the last
            joins the first; inside by the even-odd rule); empty for the others.
        log_freq: the lasso was drawn on the log frequency view: its feather is
            measured in octaves (in Hz when False).

    Raises:
        ValueError: non-finite values, feather outside [0, 1], a brush without a
            positive radius on both axes, a brush or log lasso point at f <= 0 on the
            log scale, a lasso of fewer than 3 distinct points, or both a brush
            stroke and a lasso outline.
    """

    t0: float
    t1: float
    f0: float
    f1: float
    feather: float = 0.2
    strokes: tuple[tuple[float, float], ...] = ()
    radius_s: float = 0.0
    radius_oct: float = 0.0
    radius_hz: float = 0.0
    outline: tuple[tuple[float, float], ...] = ()
    log_freq: bool = False

    def __post_init__(self) -> None:
        _finite(self.t0, self.t1, self.f0, self.f1, self.feather, self.radius_s,
                self.radius_oct, self.radius_hz)
        # A drag can go any way; store the box sorted so every consumer can rely on it.
        set_ = object.__setattr__
        (t0, t1), (f0, f1) = sorted((self.t0, self.t1)), sorted((self.f0, self.f1))
        for name, value in (("t0", t0), ("t1", t1), ("f0", f0), ("f1", f1)):
            set_(self, name, float(value))
        if not 0.0 <= self.feather <= 1.0:
            raise ValueError(f"feather must be within 0..1, got {self.feather}")
        pts = np.asarray(self.strokes, dtype=np.float64).reshape(-1, 2)
        strokes = tuple(tuple(p) for p in pts.tolist())
        set_(self, "strokes", strokes)
        if strokes:
            if not np.isfinite(pts).all():
                raise ValueError("region and edit values must be finite numbers")
            if self.radius_s <= 0 or (self.radius_oct <= 0 and self.radius_hz <= 0):
                raise ValueError("a brush needs a positive radius in time and frequency")
            if self.radius_hz <= 0 and min(f for _, f in strokes) <= 0:
                raise ValueError("a log-frequency brush needs points above 0 Hz")
            set_(self, "strokes", _thin_stroke(strokes, self.radius_s, self.radius_oct,
                                               self.radius_hz))
        outline = tuple(tuple(p) for p in np.asarray(self.outline, dtype=np.float64)
                        .reshape(-1, 2).tolist())
        if len(outline) > MAX_VERTICES:  # from a file: thinned as a drawn one is
            outline = outline_vertices(outline, bool(self.log_freq))
        set_(self, "outline", outline)
        set_(self, "log_freq", bool(self.log_freq))
        if outline:
            if strokes:
                raise ValueError("a region is a brush stroke or a lasso, not both")
            check_outline(outline, self.log_freq)

    @classmethod
    def rect(cls, t0: float, t1: float, f0: float, f1: float,
             feather: float = 0.2) -> Region:
        """A rectangle; edges may come in any order."""
        return cls(t0, t1, f0, f1, feather)

    @classmethod
    def brush(cls, points: Iterable[tuple[float, float]], radius_s: float, *,
              radius_oct: float = 0.0, radius_hz: float = 0.0,
              feather: float = 0.2) -> Region:
        """A brush stroke through ``points`` ((t_s, f_hz) pairs, f > 0); give exactly
        one of ``radius_oct`` (log view) or ``radius_hz`` (linear view). The bounding
        box is the stroke's extent plus the radius."""
        pts = tuple((float(t), float(f)) for t, f in points)
        if not pts:
            raise ValueError("a brush stroke needs at least one point")
        if (radius_oct > 0) == (radius_hz > 0):
            raise ValueError("give exactly one of radius_oct and radius_hz")
        ts = [t for t, _ in pts]
        fs = [f for _, f in pts]
        if radius_hz > 0:
            f0, f1 = min(fs) - radius_hz, max(fs) + radius_hz
        else:
            f0, f1 = min(fs) * 2.0 ** -radius_oct, max(fs) * 2.0 ** radius_oct
        return cls(min(ts) - radius_s, max(ts) + radius_s, max(f0, 0.0), f1, feather,
                   pts, radius_s, radius_oct if radius_hz <= 0 else 0.0, radius_hz)

    @classmethod
    def lasso(cls, points: Iterable[tuple[float, float]], *, feather: float = 0.2,
              log_freq: bool = False) -> Region:
        """A closed free-hand outline through ``points`` ((t_s, f_hz) pairs, the
        mouse path; the last joins the first). ``log_freq``: drawn on the log view
        (f > 0). A long path is thinned to at most ``edit_lasso.MAX_VERTICES``
        vertices; the bounding box is the vertices' extent."""
        outline = outline_vertices(points, log_freq)
        check_outline(outline, log_freq)
        ts = [t for t, _ in outline]
        fs = [f for _, f in outline]
        return cls(min(ts), max(ts), min(fs), max(fs), feather, outline=outline,
                   log_freq=log_freq)

    @property
    def is_brush(self) -> bool:
        return bool(self.strokes)

    @property
    def is_lasso(self) -> bool:
        return bool(self.outline)

    def weights(self, times_s: np.ndarray, freqs_hz: np.ndarray) -> np.ndarray:
        """The region's weight on a grid.

        Args:
            times_s: ``(T,)`` frame centres in seconds, ascending.
            freqs_hz: ``(F,)`` bin centres in Hz, ascending.

        Returns:
            ``(T, F)`` float32 in [0, 1]; 0 outside the region.
        """
        t = np.asarray(times_s, np.float64)
        f = np.asarray(freqs_hz, np.float64)
        out = np.zeros((t.size, f.size), np.float32)
        # Only the bounding box is evaluated: a brush's cost follows its size, not the song's.
        ta, tb = np.searchsorted(t, self.t0, "left"), np.searchsorted(t, self.t1, "right")
        fa, fb = np.searchsorted(f, self.f0, "left"), np.searchsorted(f, self.f1, "right")
        if ta >= tb or fa >= fb:
            return out
        if self.is_brush:
            out[ta:tb, fa:fb] = _brush_weights(self, t[ta:tb], f[fa:fb])
        elif self.is_lasso:
            out[ta:tb, fa:fb] = lasso_weights(self, t[ta:tb], f[fa:fb])
        else:
            wt = _edge_taper(t[ta:tb], self.t0, self.t1, self.feather)
            wf = _edge_taper(f[fa:fb], self.f0, self.f1, self.feather)
            out[ta:tb, fa:fb] = np.outer(wt, wf)
        return out

    def to_json(self) -> dict:
        d = {"t0": self.t0, "t1": self.t1, "f0": self.f0, "f1": self.f1,
             "feather": self.feather}
        if self.strokes:
            d.update(strokes=[list(p) for p in self.strokes], radius_s=self.radius_s,
                     radius_oct=self.radius_oct, radius_hz=self.radius_hz)
        if self.outline:
            d.update(outline=[list(p) for p in self.outline], log_freq=self.log_freq)
        return d

    @classmethod
    def from_json(cls, d: dict) -> Region:
        """Raises ValueError for a malformed dict (files from before the lasso load)."""
        try:
            strokes = tuple((float(t), float(f)) for t, f in d.get("strokes", ()))
            outline = tuple((float(t), float(f)) for t, f in d.get("outline", ()))
            return cls(float(d["t0"]), float(d["t1"]), float(d["f0"]), float(d["f1"]),
                       float(d.get("feather", 0.2)), strokes,
                       float(d.get("radius_s", 0.0)), float(d.get("radius_oct", 0.0)),
                       float(d.get("radius_hz", 0.0)), outline,
                       bool(d.get("log_freq", False)))
        except (KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"malformed region: {d!r}") from e


def _thin_stroke(points: tuple[tuple[float, float], ...], radius_s: float, radius_oct: float,
                 radius_hz: float) -> tuple[tuple[float, float], ...]:
    """The stroke without points within ``STROKE_TOLERANCE`` radii of the last kept one
    (the last point always stays). Idempotent, so a saved stroke reads back as it was."""
    if len(points) < 3:
        return points
    pts = np.asarray(points, np.float64)
    with np.errstate(all="ignore"):
        u = pts[:, 0] / radius_s
        v = pts[:, 1] / radius_hz if radius_hz > 0 else np.log2(pts[:, 1]) / radius_oct
    keep = [0]
    lu, lv = u[0], v[0]
    tol2 = STROKE_TOLERANCE ** 2
    for i in range(1, len(pts) - 1):
        if not (u[i] - lu) ** 2 + (v[i] - lv) ** 2 < tol2:  # NaN (overflow): kept
            keep.append(i)
            lu, lv = u[i], v[i]
    keep.append(len(pts) - 1)
    if len(keep) == len(pts):
        return points
    return tuple(points[i] for i in keep)


def _raised_cosine(x: np.ndarray) -> np.ndarray:
    """0 at x <= 0, 1 at x >= 1, a half cosine between (smooth at both ends)."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


def _edge_taper(x: np.ndarray, lo: float, hi: float, feather: float) -> np.ndarray:
    """One rectangle axis: 1 inside, tapering to 0 at the edges over feather/2 of the size."""
    inside = (x >= lo) & (x <= hi)
    if hi <= lo:
        return np.zeros(x.shape)  # a zero-size box is empty, not a line
    ramp = feather * (hi - lo) / 2
    if ramp <= 0:
        return inside.astype(np.float64)
    return np.where(inside, _raised_cosine(np.minimum(x - lo, hi - x) / ramp), 0.0)


def _brush_weights(r: Region, t: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``(len(t), len(f))`` weights of a brush: a profile of the distance to its path.

    Distances are measured in radii (time / radius_s, and log2(f) / radius_oct or
    f / radius_hz), so the brush is round on the view it was drawn on.
    """
    if r.radius_hz > 0:
        def fy(x):
            return np.asarray(x, np.float64) / r.radius_hz
    else:
        def fy(x):
            # Bin 0 (DC) has no octave; half a bin below bin 1 keeps it finite and far.
            return np.log2(np.maximum(x, 1e-3)) / r.radius_oct
    u, v = t / r.radius_s, fy(f)
    pts = np.array(r.strokes, np.float64)
    pu, pv = pts[:, 0] / r.radius_s, fy(pts[:, 1])
    if len(pts) == 1:
        pu, pv = np.repeat(pu, 2), np.repeat(pv, 2)
    d2 = np.full((t.size, f.size), np.inf)      # squared distance to the path, in radii
    # Segments go in groups: one Python step per group keeps long strokes (a point per
    # mouse move) fast, and each group only looks at the grid within a radius of it.
    for g in range(0, len(pu) - 1, SEGMENT_GROUP):
        au, av = pu[g: g + SEGMENT_GROUP], pv[g: g + SEGMENT_GROUP]
        bu, bv = pu[g + 1: g + 1 + SEGMENT_GROUP], pv[g + 1: g + 1 + SEGMENT_GROUP]
        au, av = au[: len(bu)], av[: len(bu)]
        ia, ib = _index_span(u, min(au.min(), bu.min()) - 1, max(au.max(), bu.max()) + 1)
        ja, jb = _index_span(v, min(av.min(), bv.min()) - 1, max(av.max(), bv.max()) + 1)
        if ia >= ib or ja >= jb:
            continue
        du, dv = (bu - au)[:, None, None], (bv - av)[:, None, None]
        length2 = du * du + dv * dv
        gu = u[None, ia:ib, None] - au[:, None, None]
        gv = v[None, None, ja:jb] - av[:, None, None]
        # Nearest point of each segment (a zero-length one is its start: s = 0 / 1).
        s = np.clip((gu * du + gv * dv) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
        e2 = np.square(gu - s * du) + np.square(gv - s * dv)
        np.minimum(d2[ia:ib, ja:jb], e2.min(axis=0), out=d2[ia:ib, ja:jb])
    dist = np.sqrt(d2)
    if r.feather <= 0:
        return (dist <= 1.0).astype(np.float64)
    inner = 1.0 - r.feather
    return 1.0 - _raised_cosine((dist - inner) / r.feather)


def _index_span(x: np.ndarray, lo: float, hi: float) -> tuple[int, int]:
    """Indices ``[i, j)`` of the ascending ``x`` within ``[lo, hi]``."""
    return int(np.searchsorted(x, lo, "left")), int(np.searchsorted(x, hi, "right"))


@dataclass(frozen=True)
class Edit:
    """One edit: an operation on one stem inside a region.

    Attributes:
        region: where.
        op: ``"assign"``: move the region's energy of all other stems into ``stem``;
            ``"remove"``: move ``stem``'s energy out, shared among the other stems in
            proportion to their current share (|S_j| / sum of the others' |S|), or
            evenly where they have none; ``"scale"``: multiply ``stem``'s share
            |S_stem| / |X| (X the mix; the share the display masks show) by ``amount``,
            capped at 1: down, S_stem is multiplied by it and the rest goes to the
            others as with remove; up, the others' sound moves in
            (S_stem + c sum_{j != stem} S_j, the others times 1 - c, with c in [0, 1]
            solved per bin), until the stem has all of the mix.
        stem: the stem's name.
        amount: strength 0..1 for assign/remove (1 = all of it); factor >= 0 for scale.
            The region's soft weight w multiplies the strength (scale: the factor
            becomes 1 + w (amount - 1)).

    Raises:
        ValueError: unknown op, amount out of range, or a non-finite number.
    """

    region: Region
    op: str
    stem: str
    amount: float = 1.0

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"unknown edit operation {self.op!r}; choose from {OPS}")
        _finite(self.amount)
        object.__setattr__(self, "amount", float(self.amount))
        if self.op == "scale" and self.amount < 0:
            raise ValueError(f"a scale factor must be >= 0, got {self.amount}")
        if self.op != "scale" and not 0.0 <= self.amount <= 1.0:
            raise ValueError(f"{self.op} strength must be within 0..1, got {self.amount}")
        if not isinstance(self.stem, str) or not self.stem:
            raise ValueError("an edit needs a stem name")

    @property
    def label(self) -> str:
        """Short text for menus, e.g. "Assign to vocals", "Scale drums x0.5"."""
        if self.op == "assign":
            return f"Assign to {self.stem}"
        if self.op == "remove":
            return f"Remove from {self.stem}"
        return f"Scale {self.stem} x{self.amount:g}"

    def to_json(self) -> dict:
        """A JSON-safe dict (floats, strings, lists) for the project file."""
        return {"op": self.op, "stem": self.stem, "amount": self.amount,
                "region": self.region.to_json()}

    @classmethod
    def from_json(cls, d: dict) -> Edit:
        """Inverse of :meth:`to_json`; raises ValueError for a malformed dict."""
        try:
            return cls(Region.from_json(d["region"]), str(d["op"]), str(d["stem"]),
                       float(d.get("amount", 1.0)))
        except (KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"malformed edit: {d!r}") from e
