"""Terminal progress for `stemsplit separate`: one redrawn line on a TTY, sparse lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 24


def format_duration(seconds: float | None) -> str:
    """``m:ss`` (or ``h:mm:ss``); ``--:--`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "--:--"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    filled = int(round(max(0.0, min(1.0, fraction)) * width))
    return "#" * filled + "-" * (width - filled)


class ProgressLine:
    """Draws per-file and overall progress with time left.

    Overall progress weighs files by duration, so a long song counts for more.
    """

    def __init__(self, total_seconds: float, n_files: int, quiet: bool = False,
                 stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self.total = max(total_seconds, 1e-9)
        self.n_files = n_files
        self.done_seconds = 0.0  # audio seconds of files already finished
        self.started = time.perf_counter()
        self._last_plain = -1.0
        self._width = 0

    def update(self, index: int, name: str, fraction: float, file_seconds: float,
               file_eta: float | None) -> None:
        if self.quiet:
            return
        overall = (self.done_seconds + fraction * file_seconds) / self.total
        elapsed = time.perf_counter() - self.started
        overall_eta = elapsed * (1 - overall) / overall if overall > 0.02 else None
        text = (f"[{index}/{self.n_files}] {name[:32]:32} {bar(fraction)} {fraction:4.0%} "
                f"left {format_duration(file_eta)} | all {overall:4.0%} "
                f"left {format_duration(overall_eta)}")
        if self.tty:
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self._width = len(text)
            self.stream.flush()
        elif fraction >= 1.0 or fraction - self._last_plain >= 0.25:
            self._last_plain = fraction
            self.stream.write(text + "\n")

    def file_done(self, file_seconds: float) -> None:
        self.done_seconds += file_seconds
        self._last_plain = -1.0
        self.clear()

    def clear(self) -> None:
        if self.tty and self._width and not self.quiet:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def message(self, text: str, error: bool = False) -> None:
        """A line that stays (summaries, errors); errors show even when quiet."""
        if self.quiet and not error:
            return
        self.clear()
        out = sys.stderr if error else sys.stdout
        print(text, file=out, flush=True)
