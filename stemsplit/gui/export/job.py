"""An export run off the GUI thread: what to write (ExportJob) and the thread that writes it."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from stemsplit.core.audio.export import (
    MIX_STEM_NAME,
    expand_pattern,
    export_set,
    planned_paths,
)
from stemsplit.core.audio.write import OutputFormat
from stemsplit.core.errors import Cancelled, StemsplitError
from stemsplit.core.stems import StemSet


@dataclass
class ExportJob:
    """Everything the worker needs; built on the GUI thread, read on the worker."""

    stemset: StemSet
    song: str
    folder: Path
    pattern: str
    fmt: OutputFormat
    rate: int | None
    stems: list[str]
    peaks: str
    overwrite: bool
    mix_gains: Sequence[float] | None = None  # None: no "what you hear" file
    mix_name: str = MIX_STEM_NAME  # its <stem> in the pattern: "vocals (solo)", "without vocals"
    cancel: threading.Event = field(default_factory=threading.Event)

    def mix_path(self) -> Path:
        name = expand_pattern(self.pattern, song=self.song, stem=self.mix_name, fmt=self.fmt,
                              model=self.stemset.model, n=0,
                              rate=self.rate or self.stemset.sample_rate)
        return self.folder / name

    def paths(self) -> list[Path]:
        out = planned_paths(self.stemset, self.folder, self.pattern, self.fmt, self.rate,
                            self.stems, self.song) if self.stems else []
        return out + ([self.mix_path()] if self.mix_gains is not None else [])


class ExportThread(QThread):
    """Runs one export off the GUI thread; talks back only through signals."""

    progressed = Signal(float, str)
    done = Signal(list)  # written paths
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, job: ExportJob, parent=None) -> None:
        super().__init__(parent)
        self.job = job

    def run(self) -> None:
        job = self.job
        try:
            # One set, one commit: a cancel while the mix is written leaves no stems behind.
            written = export_set(
                job.stemset, job.folder, job.pattern, job.fmt, job.rate, job.stems,
                job.overwrite, self.progressed.emit, job.cancel, song=job.song,
                peaks=job.peaks, mix_path=job.mix_path() if job.mix_gains is not None else None,
                mix_gains=job.mix_gains)
        except Cancelled:
            self.cancelled.emit()
        except StemsplitError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug must reach the user, not kill the thread silently
            self.failed.emit(f"export failed: {exc}")
        else:
            self.done.emit(written)
