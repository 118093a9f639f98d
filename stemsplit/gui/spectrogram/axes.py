"""Axis items: time in m:ss, frequency in Hz / kHz on a log or linear scale."""

from __future__ import annotations

import math

import pyqtgraph as pg

_LOG_TICKS = [20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000]
_LOG_MINOR = [30, 40, 60, 70, 80, 90, 150, 300, 400, 600, 700, 800, 900, 1500, 3000, 4000,
              6000, 7000, 8000, 9000, 15000]


def format_hz(hz: float) -> str:
    """440 -> "440 Hz", 2500 -> "2.5 kHz", 10000 -> "10 kHz"."""
    if hz >= 1000:
        khz = hz / 1000
        return f"{khz:.0f} kHz" if khz >= 10 or khz == int(khz) else f"{khz:.1f} kHz"
    return f"{hz:.0f} Hz"


def format_time(seconds: float, precision: int = 0) -> str:
    """83.4 -> "1:23"; with precision 1 -> "1:23.4"."""
    seconds = max(0.0, seconds)
    minutes = int(seconds // 60)
    rest = seconds - 60 * minutes
    if precision:
        width = 3 + precision
        return f"{minutes}:{rest:0{width}.{precision}f}"
    return f"{minutes}:{int(rest):02d}"


class TimeAxis(pg.AxisItem):
    """Seconds shown as m:ss (with tenths or hundredths when zoomed in)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("bottom", **kwargs)

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph API)
        span = max(maxVal - minVal, 1e-6)
        # Steps musicians read easily: 10 ms .. 5 min.
        steps = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300]
        wanted = max(size / 90.0, 2)
        major = next((s for s in steps if span / s <= wanted), steps[-1])
        return [(major, 0), (major / 5 if major < 1 else major / 2, 0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        precision = 2 if spacing < 0.1 else 1 if spacing < 1 else 0
        return [format_time(v, precision) for v in values]


class FrequencyAxis(pg.AxisItem):
    """Frequency axis; on the log scale the view's y is log10(Hz)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("left", **kwargs)
        self.log_scale = True

    def set_log(self, log_scale: bool) -> None:
        self.log_scale = log_scale
        self.picture = None
        self.update()

    def tickValues(self, minVal, maxVal, size):  # noqa: N802
        if not self.log_scale:
            return super().tickValues(minVal, maxVal, size)
        lo, hi = 10 ** minVal, 10 ** maxVal
        major = [math.log10(f) for f in _LOG_TICKS if lo <= f <= hi]
        minor = [math.log10(f) for f in _LOG_MINOR if lo <= f <= hi]
        if len(major) + len(minor) < 3:  # zoomed in on the frequency axis: round Hz steps
            hz = super().tickValues(lo, hi, size)
            return [(1.0, [math.log10(f) for f in v if f > 0]) for _, v in hz]
        if len(major) < 2:  # zoomed in a little: label the minor ticks too
            return [(1.0, sorted(major + minor))]
        return [(1.0, major), (0.1, minor)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        if self.log_scale:
            if spacing < 1.0:  # minor ticks: lines only, labels would crowd the axis
                return ["" for _ in values]
            return [format_hz(10 ** v) for v in values]
        return [format_hz(v) for v in values]
