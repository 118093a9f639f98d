"""The window's model: the loaded song, the stems so far, model and device choice.

Widgets observe a ``Session`` through its signals and call its methods; they
never reach into each other. Other parts of the GUI (transport, mixer, export)
need only this object:

* ``audio`` (``stemsplit.core.audio.read.Audio`` or None), ``display`` (SongDisplay),
* ``stems`` (``StemSet`` once a run finished, else None), ``stem_names``,
  ``stem_colours`` (name -> "#rrggbb"), ``masks`` (MaskAccumulator of the stems shown),
* ``replacing``: True while a run goes on over finished stems. Such a re-run works
  out of sight: the finished stems, their masks and playback stay until it
  succeeds; a cancelled or failed re-run leaves them as they were.
* signals ``songLoaded(Audio)``, ``stemsReady(StemSet)``, ``stemsCleared()``,
  ``separationProgress(fraction, eta_s, device)``, ...
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from stemsplit.gui.common.theme import stem_colour
from stemsplit.gui.run.workers import (
    EngineInfoThread,
    LoadThread,
    ModelChoice,
    SeparationThread,
    SeparatorCache,
    WarmupThread,
)
from stemsplit.gui.spectrogram.mask_model import MaskAccumulator, MaskPatch

DEFAULT_MODEL = "2stems"  # mirrors core.models.registry.DEFAULT_MODEL without importing torch


class Session(QObject):
    """Holds what is loaded and what is running; emits a signal for every change."""

    songLoading = Signal(str)           # path
    songLoaded = Signal(object)         # Audio
    loadFailed = Signal(str)            # message
    engineReady = Signal()              # models / devices / demo path known
    engineFailed = Signal(str)
    modelChanged = Signal(str)
    deviceChanged = Signal(str)
    separationStarted = Signal()
    separationDevice = Signal(str)      # device actually in use
    separationProgress = Signal(float, float, str)  # fraction, eta_s (-1 unknown), device
    masksUpdated = Signal(int, int)     # column range changed
    stemsAvailable = Signal(int)        # samples of ``partial_stems`` finished so far
    separationFinished = Signal(object)  # StemSet
    separationFailed = Signal(str)
    separationCancelled = Signal(bool)  # True when the user asked, False when a new song did
    stemsReady = Signal(object)         # StemSet (for playback / export)
    stemsCleared = Signal()
    busyChanged = Signal(bool)
    projectOpened = Signal(object)     # core.project.Project, after songLoaded, before stemsReady

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.audio = None
        self.display = None
        self.project_path: Path | None = None  # the .stemsplit file the song came from
        self.stems = None
        self.masks: MaskAccumulator | None = None
        # name -> (channels, samples) arrays the running separation fills in place;
        # [0, available) is final, so playback may follow the run.
        self.partial_stems: dict[str, np.ndarray] = {}
        self.replacing = False
        # The running run's masks and audio; the shown ones too unless ``replacing``.
        self._run_masks: MaskAccumulator | None = None
        self._run_stems: dict[str, np.ndarray] = {}
        self.models: list[ModelChoice] = []
        self.devices: list[str] = []
        self.demo_path = ""
        self.model_name = DEFAULT_MODEL
        self.device_name = "auto"
        self.precision_name = "auto"
        self.wiener = False  # the Wiener post-filter (one EM iteration) after the model
        self.device_in_use = ""
        self._user_cancelled = True
        self._loader: LoadThread | None = None
        self._runner: SeparationThread | None = None
        self._cache = SeparatorCache()
        self._threads: set = set()  # keep Python references until each thread ends
        self._closed = False
        self._probe: EngineInfoThread | None = None

    # -- engine information ------------------------------------------------------------

    def probe_engine(self) -> None:
        """Import the engine in the background and learn its models and devices."""
        if self._probe is not None:
            return
        self._probe = EngineInfoThread(self)
        self._probe.ready.connect(self._on_engine_ready)
        self._probe.failed.connect(self.engineFailed)
        self._start(self._probe)

    def refresh_models(self) -> None:
        """Ask the engine again which models there are (a model was trained or installed)."""
        if self._probe is not None and self._probe.isRunning():
            return
        self._probe = None
        self.probe_engine()

    @Slot(object, object, str)
    def _on_engine_ready(self, models, devices, demo: str) -> None:
        self.models, self.devices, self.demo_path = list(models), list(devices), demo
        if self.models and self.model_name not in {m.name for m in self.models}:
            self.model_name = self.models[0].name
        if self.device_name not in ("auto", *self.devices):
            self.device_name = "auto"
        self.engineReady.emit()
        self.warm_up()

    def warm_up(self) -> None:
        """Load the chosen model in the background so Separate starts at once."""
        choice = self.model_choice()
        if choice is not None and choice.installed:
            self._start(WarmupThread(self._cache, self.model_name, self.device_name, self))

    @property
    def engine_ready(self) -> bool:
        return bool(self.models)

    def model_choice(self) -> ModelChoice | None:
        return next((m for m in self.models if m.name == self.model_name), None)

    def mark_installed(self, name: str) -> None:
        """A model was downloaded and installed while the app runs."""
        self.models = [replace(m, installed=True) if m.name == name else m
                       for m in self.models]

    def set_model(self, name: str) -> None:
        if name != self.model_name:
            self.model_name = name
            self.modelChanged.emit(name)

    def set_wiener(self, on: bool) -> None:
        """Refine the next runs' stems with the Wiener post-filter."""
        self.wiener = bool(on)

    def set_device(self, name: str) -> None:
        if name != self.device_name:
            self.device_name = name
            self.deviceChanged.emit(name)

    def set_precision(self, name: str) -> None:
        """The network's number format for the next run ("auto", "fp32", "bf16", "fp16")."""
        self.precision_name = self._cache.precision = name

    # -- loading -------------------------------------------------------------------------

    def load(self, path: str | Path, recover=None, after=None) -> None:
        """Open a song in the background; on failure the current song stays loaded.

        ``recover``: a crash-recovery snapshot (core.recovery Orphan) to open instead.
        ``after``: a threading.Event the reading waits for (the open song going to disk).
        """
        path = str(path)
        if self._loader is not None:
            self._loader.cancel.set()
        loader = LoadThread(path, self, recover=recover, after=after)
        # Bound methods of this QObject, not lambdas: the slots then run queued on
        # the GUI thread; the sender tells which (possibly stale) thread spoke.
        loader.loaded.connect(self._on_loaded)
        loader.failed.connect(self._on_load_failed)
        self._loader = loader
        self.songLoading.emit(path)
        self._start(loader)
        self.busyChanged.emit(self.busy)

    @Slot(object, object)
    def _on_loaded(self, audio, display) -> None:
        if self.sender() is not self._loader:
            return  # a newer file was asked for meanwhile
        project = self._loader.project
        self._loader = None
        if self._runner is not None:  # the new song replaces the run's song
            self._runner.cancel.set()
            self._user_cancelled = False
        self.audio, self.display = audio, display
        self.project_path = Path(project.path) if project is not None else None
        self.masks = None
        self.partial_stems = {}
        self._drop_run()
        if self.stems is not None:
            self.stems = None
            self.stemsCleared.emit()
        self.songLoaded.emit(audio)
        if project is not None:
            self._adopt(project)
        self.busyChanged.emit(self.busy)

    def _adopt(self, project) -> None:
        """A project's stems, shown and played as if just separated (no re-separation)."""
        stems = project.stems
        if self.audio.path:
            stems.meta.setdefault("path", str(self.audio.path))  # names exported files
        # A model this stemsplit lacks (a newer or hand-edited file) names these stems only;
        # the session keeps its own for the next song.
        if not self.models or project.model in {m.name for m in self.models}:
            self.set_model(project.model)
        self.masks = MaskAccumulator(list(stems.names), self.display.grids)
        self.stems = stems
        self.projectOpened.emit(project)
        self.stemsReady.emit(stems)

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        if self.sender() is not self._loader:
            return
        self._loader = None
        self.loadFailed.emit(message)
        self.busyChanged.emit(self.busy)

    @property
    def loading(self) -> bool:
        return self._loader is not None

    # -- separation ----------------------------------------------------------------------

    @property
    def separating(self) -> bool:
        return self._runner is not None

    @property
    def busy(self) -> bool:
        return self.loading or self.separating

    @property
    def stem_names(self) -> list[str]:
        """Stems of the current run or result, else of the chosen model."""
        if self.stems is not None:
            return list(self.stems.names)
        if self.masks is not None:
            return list(self.masks.stems)
        choice = self.model_choice()
        return list(choice.stems) if choice else []

    @property
    def stem_colours(self) -> dict[str, str]:
        return {name: stem_colour(name, i) for i, name in enumerate(self.stem_names)}

    def separate(self) -> bool:
        """Start a run on the loaded song; returns False when there is nothing to do.

        Over finished stems the run replaces them only once it has succeeded.
        """
        if self.audio is None or self.separating:
            return False
        choice = self.model_choice()
        stems = list(choice.stems) if choice else ["vocals", "accompaniment"]
        self.replacing = self.stems is not None
        self._run_masks = MaskAccumulator(stems, self.display.grids)
        self._run_stems = {s: np.zeros(self.audio.samples.shape, np.float32) for s in stems}
        if not self.replacing:  # the first run is shown (and played) as it goes
            self.masks, self.partial_stems = self._run_masks, self._run_stems
        runner = SeparationThread(self.audio.samples, self.audio.sample_rate, self.model_name,
                                  self.device_name, self.display.grids, self._cache,
                                  self._run_stems, self,
                                  wiener_iterations=1 if self.wiener else 0)
        runner.available.connect(self._on_available)
        runner.started_on.connect(self._on_run_started)
        runner.progressed.connect(self._on_progress)
        runner.masks_ready.connect(self._on_masks)
        runner.finished_stems.connect(self._on_finished)
        runner.failed.connect(self._on_failed)
        runner.cancelled.connect(self._on_cancelled)
        self._runner = runner
        self._user_cancelled = True
        self.device_in_use = ""
        self.separationStarted.emit()
        self.busyChanged.emit(True)
        self._start(runner)
        return True

    def cancel(self) -> None:
        """Ask the running separation to stop (it stops at the next chunk)."""
        if self._runner is not None:
            self._runner.cancel.set()

    @Slot(str, object)
    def _on_run_started(self, device: str, stems) -> None:
        if self.sender() is not self._runner:
            return
        self.device_in_use = device
        if self._run_masks is not None and list(stems) != self._run_masks.stems:
            self._run_masks = MaskAccumulator(list(stems), self.display.grids)
            if not self.replacing:
                self.masks = self._run_masks
        self.separationDevice.emit(device)

    @Slot(float, float, int, int, str)
    def _on_progress(self, fraction: float, eta: float, chunk: int, n: int, device: str) -> None:
        if self.sender() is not self._runner:
            return
        self.device_in_use = device
        self.separationProgress.emit(fraction, eta, device)

    @Slot(int)
    def _on_available(self, n: int) -> None:
        if self.sender() is self._runner and not self.replacing:
            self.stemsAvailable.emit(n)

    @Slot(object)
    def _on_masks(self, patch: MaskPatch) -> None:
        if self.sender() is self._runner and self._run_masks is not None:
            changed = self._run_masks.paste(patch)
            if not self.replacing:
                self.masksUpdated.emit(*changed)

    @Slot(object)
    def _on_finished(self, stems) -> None:
        if self.sender() is not self._runner:
            return
        if self._runner.cancel.is_set():  # done just as it was told to stop: the stop wins
            self._end_cancelled()
            return
        self._runner = None
        if self.audio is not None and self.audio.path:
            stems.meta.setdefault("path", str(self.audio.path))  # names exported files
        self.masks, self.partial_stems = self._run_masks, self._run_stems
        self._drop_run()
        self.stems = stems
        self.separationFinished.emit(stems)
        self.stemsReady.emit(stems)
        self.busyChanged.emit(self.busy)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self.sender() is not self._runner:
            return
        self._runner = None
        self._forget_first_run()
        self._drop_run()
        self.separationFailed.emit(message)
        self.busyChanged.emit(self.busy)

    @Slot()
    def _on_cancelled(self) -> None:
        if self.sender() is self._runner:
            self._end_cancelled()

    def _end_cancelled(self) -> None:
        self._runner = None
        self._forget_first_run()
        self._drop_run()
        self.separationCancelled.emit(self._user_cancelled)
        self.busyChanged.emit(self.busy)

    def _forget_first_run(self) -> None:
        """A first run that did not finish leaves nothing behind: no masks, no partial stems.

        It was shown as it went; keeping its first minutes tinted would look like a result.
        """
        if not self.replacing and self.stems is None:
            self.masks, self.partial_stems = None, {}

    def _drop_run(self) -> None:
        """Forget the run's own masks and audio (what is shown stays in ``masks``)."""
        self.replacing = False
        self._run_masks, self._run_stems = None, {}

    # -- threads -------------------------------------------------------------------------

    def _start(self, thread) -> None:
        if self._closed:
            return  # the window is going: a thread started now would outlive it running
        self._threads.add(thread)
        thread.finished.connect(self._on_thread_done)
        thread.start()

    @Slot()
    def _on_thread_done(self) -> None:
        # A finished thread holds the song (or a whole project) until Qt deletes it:
        # as the session's child that would be never.
        thread = self.sender()
        self._threads.discard(thread)
        if thread is not None and thread is not self._probe:
            release = getattr(thread, "release", None)
            if release is not None:
                release()
            thread.deleteLater()

    @property
    def live_threads(self) -> int:
        """Threads still running or not yet deleted (a test counts them)."""
        from PySide6.QtCore import QThread

        return len(self.findChildren(QThread))

    def shutdown(self, timeout_s: float = 5.0) -> list:
        """Cancel everything and wait for the threads (called when the window closes).

        Returns:
            The threads still running after ``timeout_s`` (the app must not destroy them).
        """
        from stemsplit.gui.run.workers import stop_threads

        self._closed = True  # a report arriving now (the engine probe's) starts nothing new
        self.cancel()
        if self._loader is not None:
            self._loader.cancel.set()
        return stop_threads(list(self._threads), timeout_s)
