"""Background threads: decode + draw a song, run the engine, probe the engine's options.

Every heavy step (decoding, FFTs, importing torch, the U-Net) runs here, off
the GUI thread. Threads talk to the window only through queued Qt signals;
the engine is imported lazily inside ``run`` so the window opens without torch.
"""

from __future__ import annotations

import atexit
import logging
import threading
import traceback
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QThread, Signal

from stemsplit.gui.spectrogram.display import DisplayGrid, compute_song_display
from stemsplit.gui.spectrogram.mask_model import patch_from_block

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelChoice:
    """What the window needs to know about a model, without importing torch."""

    name: str
    title: str
    stems: tuple[str, ...]
    licence: str
    installed: bool
    archive: str | None = None       # downloadable release archive, when not built in
    download_mb: int | None = None   # its approximate size, said before downloading
    family: str = "spleeter"         # the engine that runs it (training needs a U-Net)


class LoadThread(QThread):
    """Decode a file and compute its display spectrogram."""

    loaded = Signal(object, object)  # Audio, SongDisplay
    failed = Signal(str)

    def __init__(self, path: str, parent=None, recover=None,
                 after: threading.Event | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.recover = recover  # a core.recovery Orphan to restore instead of a file
        # Set once the open song's arrays are on disk: reading waits for it, so the
        # old song and the new one are never both in RAM.
        self.after = after
        self.cancel = threading.Event()
        self.project = None  # a .stemsplit project: its stems and edits come with the song

    def run(self) -> None:
        from stemsplit.core.audio.read import Audio, load_audio
        from stemsplit.core.errors import StemsplitError

        while self.after is not None and not self.after.wait(0.05):
            if self.cancel.is_set():
                return
        try:
            if self.recover is not None or self.path.lower().endswith(".stemsplit"):
                from stemsplit.core.project import load_project
                from stemsplit.core.recovery import restore

                # The project holds the mix itself: it opens even if the song has moved.
                self.project = project = (restore(self.recover) if self.recover is not None
                                          else load_project(self.path))
                audio = Audio(np.ascontiguousarray(project.mix, dtype=np.float32),
                              project.stems.sample_rate, path=project.song_path,
                              original_channels=project.mix.shape[0])
            else:
                # Surround files are folded to stereo (the window says so), not refused.
                audio = load_audio(self.path, downmix=True)
            display = compute_song_display(audio.samples, audio.sample_rate, self.cancel)
        except StemsplitError as exc:
            self.failed.emit(str(exc))
            return
        except MemoryError:
            self.failed.emit(f"Not enough memory to open {self.path}.")
            return
        except Exception as exc:  # never let a decoder bug take the window down
            log.error("loading %s failed:\n%s", self.path, traceback.format_exc())
            self.failed.emit(f"Could not open {self.path}: {exc}")
            return
        if not self.cancel.is_set():
            self.loaded.emit(audio, display)

    def release(self) -> None:
        """Drop what it read: the session has it now (or never will)."""
        self.project = self.recover = None


class SeparatorCache:
    """Keeps the last Separator so a second run skips loading the weights (~2 s)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[str, str, str] | None = None
        self._separator = None
        self.precision = "auto"  # the network's number format (engine.precision), from the session

    def get(self, model: str, device: str):
        from stemsplit.core.engine.separator import EngineOptions
        from stemsplit.core.models.registry import load_separator

        with self._lock:
            key = (model, device, self.precision)
            if self._key != key or self._separator is None:
                self._separator = None  # free the old one before loading the new
                self._separator = load_separator(
                    model=model, device=device, options=EngineOptions(precision=self.precision))
                self._key = key
            return self._separator


class WarmupThread(QThread):
    """Load the model before the first Separate.

    Building a Separator unpickles the weights while holding the GIL for most of a
    second; doing it right after start-up keeps that stall away from the moment
    the user is watching the progress bar. Errors are left for the real run to report.
    """

    def __init__(self, cache: SeparatorCache, model: str, device: str, parent=None) -> None:
        super().__init__(parent)
        self.cache, self.model, self.device = cache, model, device

    def run(self) -> None:
        try:
            self.cache.get(self.model, self.device)
        except Exception:  # reported by the run that needs it
            log.info("model warm-up failed:\n%s", traceback.format_exc())


class SeparationThread(QThread):
    """Run the engine's iterator; emit progress, display masks, and the finished stems."""

    started_on = Signal(str, object)  # device, stem names (tuple)
    # fraction, eta_s (-1 when unknown), chunk, n_chunks, device
    progressed = Signal(float, float, int, int, str)
    masks_ready = Signal(object)  # MaskPatch
    available = Signal(int)  # samples of stem audio finished, from the start
    finished_stems = Signal(object)  # StemSet
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, samples: np.ndarray, sample_rate: int, model: str, device: str,
                 grids: dict[str, DisplayGrid], cache: SeparatorCache,
                 out: dict[str, np.ndarray] | None = None, parent=None,
                 wiener_iterations: int | None = None) -> None:
        super().__init__(parent)
        self.wiener_iterations = wiener_iterations
        # Filled in place as chunks finish, so playback can follow the run.
        self.out = out
        self.samples = samples
        self.sample_rate = sample_rate
        self.model = model
        self.device = device
        self.grids = grids
        self.cache = cache
        self.cancel = threading.Event()

    def run(self) -> None:
        try:
            from stemsplit.core.errors import Cancelled, StemsplitError
        except Exception as exc:  # torch missing or broken
            self.failed.emit(f"The separation engine could not start: {exc}")
            return
        try:
            self._run()
        except Cancelled:
            self.cancelled.emit()
        except StemsplitError as exc:
            self.failed.emit(str(exc))
        except MemoryError:
            self.failed.emit("Out of memory while separating. Close other programs or "
                             "choose the CPU device, then try again.")
        except Exception as exc:
            log.error("separation failed:\n%s", traceback.format_exc())
            message = str(exc)
            if "out of memory" in message.lower():
                message = "The device ran out of memory while separating. Try the CPU device."
            self.failed.emit(f"Separation failed: {message}")

    def _run(self) -> None:
        from stemsplit.core.errors import Cancelled
        from stemsplit.core.stems import StemSet

        separator = self.cache.get(self.model, self.device)
        separator.set_wiener(self.wiener_iterations)
        if self.cancel.is_set():
            raise Cancelled()
        stems = tuple(separator.stems)
        label = f"{separator.device.type} · {separator.precision.name}"  # "cpu · bf16"
        self.started_on.emit(label, stems)
        out = self.out
        if out is None or set(out) != set(stems):
            out = {s: np.zeros(self.samples.shape, np.float32) for s in stems}
        for p in separator.iter_separate(self.samples, self.sample_rate, self.cancel):
            if p.stems is not None:
                for name, block in p.stems.audio.items():
                    out[name][:, p.stems.start: p.stems.start + block.shape[-1]] = block
                self.available.emit(p.stems.start + p.stems.length)
            if p.masks is not None:
                self.masks_ready.emit(patch_from_block(p.masks, self.grids))
            eta = -1.0 if p.eta_s is None else float(p.eta_s)
            self.progressed.emit(float(p.fraction), eta, p.chunk, p.n_chunks, label)
        if self.cancel.is_set():
            raise Cancelled()
        self.finished_stems.emit(StemSet(self.sample_rate, {s: out[s] for s in stems},
                                         self.model))

    def release(self) -> None:
        """Drop the song and the stems it filled: the session holds them (or let them go)."""
        self.samples = self.out = self.grids = None


def stop_threads(threads, timeout_s: float = 5.0) -> list[QThread]:
    """Ask each running thread to stop (its ``cancel`` event) and wait for it, in all
    at most ``timeout_s``; returns those still running (never destroy one of those)."""
    import time

    threads = [t for t in threads if t.isRunning()]
    for t in threads:
        cancel = getattr(t, "cancel", None)
        if isinstance(cancel, threading.Event):
            cancel.set()
    end = time.monotonic() + timeout_s
    for t in threads:
        t.wait(max(0, int((end - time.monotonic()) * 1000)))
    still = [t for t in threads if t.isRunning()]
    for t in still:
        # Its parent (the window) may be deleted next, which would destroy a running
        # QThread and abort the process: let it finish on its own, kept alive here.
        t.setParent(None)
        _STILL_RUNNING.append(t)
    return still


_STILL_RUNNING: list[QThread] = []


@atexit.register
def _wait_for_stragglers(timeout_s: float = 60.0) -> None:
    """Python's exit destroys every QThread object: one still running aborts the process."""
    import time

    end = time.monotonic() + timeout_s
    for t in _STILL_RUNNING:
        try:
            t.wait(max(0, int((end - time.monotonic()) * 1000)))
        except RuntimeError:  # Qt already deleted it: it has ended
            pass


class EngineInfoThread(QThread):
    """Import the engine once in the background and report models, devices and the demo."""

    ready = Signal(object, object, str)  # list[ModelChoice], list[str] devices, demo path
    failed = Signal(str)

    def run(self) -> None:
        try:
            from stemsplit.core.engine.device import available_devices
            from stemsplit.core.models.registry import list_models

            models = [ModelChoice(m.name, m.title, tuple(m.stems), m.licence, m.is_installed(),
                                  m.archive, m.download_mb, m.family)
                      for m in list_models()]
            devices = available_devices()
        except Exception as exc:
            log.error("engine probe failed:\n%s", traceback.format_exc())
            self.failed.emit(f"The separation engine is not available: {exc}")
            return
        try:
            from stemsplit.core.models.spleeter.weights import demo_song_path

            demo = str(demo_song_path())
        except Exception:
            demo = ""
        self.ready.emit(models, devices, demo)
