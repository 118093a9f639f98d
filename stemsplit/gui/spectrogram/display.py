"""Display-resolution spectrograms and masks: pure numpy, safe to run off the GUI thread.

A ``DisplayGrid`` fixes the pixel grid of the spectrogram view: columns of
``dt`` seconds and rows of frequency bands (log-spaced or linear). Anything on
an STFT grid (the mixture's power, the engine's masks) is reduced to it by the
same two steps: average the STFT frames that fall in a column, then mix the
bins into rows with a band-overlap weight matrix. The view then only ever
handles a few hundred rows by a few thousand columns, whatever the song length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

SCALES = ("log", "linear")
ROWS = 320
MAX_COLUMNS = 4000
LOG_MIN_HZ = 30.0
STFT_SIZE = 4096
STFT_HOP = 1024
FLOOR_DB = -90.0  # bottom of the colour scale, relative to the song's loudest point
SILENCE_POWER = 1e-20  # -200 dB: a song no louder than this is digital silence
BLOCK_FRAMES = 256  # frames per FFT block: keeps each numpy call (and GIL hold) short
# The built-in model's mask hop (1024 samples at 44.1 kHz). Columns are never finer,
# so every column of the view receives at least one mask frame.
MODEL_HOP_S = 1024 / 44100


@dataclass(frozen=True)
class DisplayGrid:
    """Rows x columns of the view.

    Attributes:
        scale: "log" or "linear".
        columns: number of time columns.
        dt: seconds per column; column ``j`` holds frames centred in ``[j*dt, (j+1)*dt)``.
        edges_hz: ``rows + 1`` band edges, ascending.
    """

    scale: str
    columns: int
    dt: float
    edges_hz: np.ndarray = field(compare=False)

    @property
    def rows(self) -> int:
        return len(self.edges_hz) - 1

    @property
    def y_range(self) -> tuple[float, float]:
        """The view's y extent: log10(Hz) for the log scale, Hz for the linear one."""
        lo, hi = float(self.edges_hz[0]), float(self.edges_hz[-1])
        return (np.log10(lo), np.log10(hi)) if self.scale == "log" else (lo, hi)

    def y_of_hz(self, hz: float) -> float:
        return float(np.log10(max(hz, 1e-3))) if self.scale == "log" else float(hz)

    def hz_of_y(self, y: float) -> float:
        return float(10 ** y) if self.scale == "log" else float(y)

    def row_of_y(self, y: float) -> int:
        lo, hi = self.y_range
        return int(np.floor((y - lo) / (hi - lo) * self.rows))

    def weights(self, n_bins: int, bin_hz: float) -> np.ndarray:
        """``(rows, n_bins)`` matrix averaging bins into rows (rows sum to 1)."""
        return _band_weights(self.edges_hz.tobytes(), n_bins, float(bin_hz))

    def frame_columns(self, frame_start: int, n_frames: int, hop_s: float) -> np.ndarray:
        """Column of each STFT frame (frame ``i`` is centred at ``i * hop_s``)."""
        times = (frame_start + np.arange(n_frames)) * hop_s
        # The small epsilon keeps frame i in column i when dt equals hop_s exactly.
        cols = np.floor(times / self.dt + 1e-6).astype(np.int64)
        return np.minimum(cols, self.columns - 1)

    def reduce(self, data: np.ndarray, frame_start: int, hop_s: float, bin_hz: float
               ) -> tuple[int, np.ndarray]:
        """Reduce ``(..., bins, frames)`` STFT-grid data to the display grid.

        Returns:
            ``(first_column, (..., rows, n_columns))``: the columns the frames
            touch, each the mean of its frames (a column no frame falls in takes
            its left neighbour), each row the band-weighted mean of its bins.
            Float32, C-contiguous.
        """
        idx = self.frame_columns(frame_start, data.shape[-1], hop_s)
        first = int(idx[0])
        idx = idx - first
        width = int(idx[-1]) + 1
        starts = np.flatnonzero(np.r_[True, np.diff(idx) > 0])
        counts = np.diff(np.r_[starts, len(idx)]).astype(np.float32)
        means = np.add.reduceat(data.astype(np.float32, copy=False), starts, axis=-1) / counts
        present = idx[starts]
        if len(present) != width:
            means = means[..., np.searchsorted(present, np.arange(width), side="right") - 1]
        out = np.matmul(self.weights(data.shape[-2], bin_hz), means)
        return first, np.ascontiguousarray(out, dtype=np.float32)


@lru_cache(maxsize=16)
def _band_weights(edges_bytes: bytes, n_bins: int, bin_hz: float) -> np.ndarray:
    edges = np.frombuffer(edges_bytes, dtype=np.float64)
    lo, hi = edges[:-1, None], edges[1:, None]
    centres = np.arange(n_bins)[None, :] * bin_hz
    b_lo, b_hi = centres - bin_hz / 2, centres + bin_hz / 2
    overlap = np.clip(np.minimum(hi, b_hi) - np.maximum(lo, b_lo), 0, None)
    # A band narrower than one bin overlaps one or two bins; if it overlaps none
    # (above the last bin), fall back to the nearest bin so no row is empty.
    empty = overlap.sum(axis=1) == 0
    if empty.any():
        nearest = np.clip(np.round((lo + hi) / 2 / bin_hz).astype(int)[:, 0], 0, n_bins - 1)
        overlap[np.where(empty)[0], nearest[empty]] = 1.0
    w = overlap / overlap.sum(axis=1, keepdims=True)
    w.setflags(write=False)
    return w.astype(np.float32)


def make_grid(scale: str, duration_s: float, nyquist_hz: float, min_dt: float,
              rows: int = ROWS, max_columns: int = MAX_COLUMNS) -> DisplayGrid:
    """The grid for a song: at most ``max_columns`` columns, never finer than ``min_dt``."""
    if scale not in SCALES:
        raise ValueError(f"unknown frequency scale {scale!r}")
    dt = max(min_dt, duration_s / max_columns)
    columns = max(1, int(np.ceil(duration_s / dt)))
    if scale == "log":
        edges = np.geomspace(LOG_MIN_HZ, nyquist_hz, rows + 1)
    else:
        edges = np.linspace(0.0, nyquist_hz, rows + 1)
    return DisplayGrid(scale, columns, dt, edges)


@dataclass
class SongDisplay:
    """What the view draws for a loaded song, computed once per song.

    Attributes:
        grids: scale -> grid.
        power: scale -> ``(rows, columns)`` mixture power (linear, mean of channels).
        db: scale -> the same in dB relative to the loudest pixel, floored at FLOOR_DB.
        envelope: ``(points,)`` peak level for the overview strip, 0..1.
        duration_s: song length.
        level: scale -> 0..1 "how loud" weight of each pixel, computed with the rest
            in the loader's thread (22 ms of the GUI thread otherwise).
    """

    grids: dict[str, DisplayGrid]
    power: dict[str, np.ndarray]
    db: dict[str, np.ndarray]
    envelope: np.ndarray
    duration_s: float
    level: dict[str, np.ndarray] = field(default_factory=dict)

    def levels(self) -> dict[str, np.ndarray]:
        if not self.level:
            self.level = loudness_weight(self.db)
        return self.level


def loudness_weight(db: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """0..1 per pixel: overlays colour what is audible, not the noise floor."""
    return {s: np.ascontiguousarray(np.clip(1 - d / FLOOR_DB, 0, 1) ** 1.5, dtype=np.float32)
            for s, d in db.items()}


def power_to_db(power: np.ndarray, ref: float) -> np.ndarray:
    db = 10.0 * np.log10(np.maximum(power, 1e-20) / max(ref, 1e-20))
    return np.ascontiguousarray(np.maximum(db, FLOOR_DB), dtype=np.float32)


def compute_song_display(samples: np.ndarray, sample_rate: int,
                         cancel=None) -> SongDisplay:
    """Mixture spectrogram on both grids plus the overview envelope.

    Works block by block so a 10-minute song never holds its full STFT in memory
    and no single numpy call runs long. ``cancel`` is an optional threading.Event.
    """
    n = samples.shape[-1]
    duration = n / sample_rate
    hop_s = STFT_HOP / sample_rate
    bin_hz = sample_rate / STFT_SIZE
    grids = {s: make_grid(s, duration, sample_rate / 2, max(hop_s, MODEL_HOP_S))
             for s in SCALES}
    power = {s: np.zeros((g.rows, g.columns), np.float32) for s, g in grids.items()}
    counts = {s: np.zeros(g.columns, np.float32) for s, g in grids.items()}
    n_frames = 1 + n // STFT_HOP
    window = np.hanning(STFT_SIZE + 1)[:-1].astype(np.float32)
    norm = 1.0 / float(np.sum(window) ** 2)
    for start in range(0, n_frames, BLOCK_FRAMES):
        if cancel is not None and cancel.is_set():
            break
        count = min(BLOCK_FRAMES, n_frames - start)
        frames = np.lib.stride_tricks.sliding_window_view(
            _mono(samples, start * STFT_HOP, (count - 1) * STFT_HOP + STFT_SIZE),
            STFT_SIZE)[::STFT_HOP] * window
        spec = np.abs(np.fft.rfft(frames, axis=1)).astype(np.float32).T  # (bins, frames)
        spec = np.square(spec) * norm
        for s, g in grids.items():
            # Weighted by frame count so blocks that split a column average correctly.
            cols = g.frame_columns(start, count, hop_s)
            first, reduced = g.reduce(spec, start, hop_s, bin_hz)
            k = np.bincount(cols - first, minlength=reduced.shape[-1]).astype(np.float32)
            power[s][:, first: first + len(k)] += reduced * k
            counts[s][first: first + len(k)] += k
    for s in SCALES:
        power[s] /= np.maximum(counts[s], 1)
    loudest = max(float(p.max()) for p in power.values())
    if loudest <= SILENCE_POWER:  # digital silence: draw the floor, not 0 dB everywhere
        db = {s: np.full(p.shape, FLOOR_DB, np.float32) for s, p in power.items()}
    else:
        db = {s: power_to_db(p, loudest) for s, p in power.items()}
    return SongDisplay(grids, power, db, _envelope(samples), duration, loudness_weight(db))


def _mono(samples: np.ndarray, start: int, length: int) -> np.ndarray:
    """The channel mean of the centred (zero-padded) signal's ``[start, start+length)``,
    one block at a time: a whole-song mono copy is 300 MB on a 30-minute song, and it
    was held while a project opened beside the song still open."""
    half, n = STFT_SIZE // 2, samples.shape[-1]
    out = np.zeros(length, np.float32)
    a, b = max(start - half, 0), min(start + length - half, n)
    if b > a:
        at = a - (start - half)
        np.mean(samples[:, a:b], axis=0, dtype=np.float32, out=out[at: at + b - a])
    return out


def _envelope(samples: np.ndarray, points: int = 2000, block: int = 1 << 20) -> np.ndarray:
    """Peak level per point, a block of samples at a time (no copy of the whole song)."""
    n = samples.shape[-1]
    if not n:
        return np.zeros(1, np.float32)
    points = max(1, min(points, n))
    edges = np.linspace(0, n, points + 1).astype(np.int64)
    env = np.zeros(points, np.float32)
    first = 0
    while first < points:
        # Whole points per block, at least one.
        last = max(first + 1, int(np.searchsorted(edges, edges[first] + block, "right")) - 1)
        last = min(last, points)
        a, b = edges[first], edges[last]
        peak = np.abs(samples[:, a:b]).max(axis=0)
        env[first:last] = np.maximum.reduceat(peak, edges[first:last] - a)
        first = last
    return np.clip(env, 0.0, 1.0)
