"""The window's side of the run options: model, device, precision and Wiener choice.

Fills the model box once the engine has reported, with a tooltip per model
(``models.hints``: stems, speed here, licence), offers the download of a model
that is not installed, remembers each choice, and times every finished run so
the model box can say how fast that model is on this machine.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject

from stemsplit.gui.models import hints
from stemsplit.gui.models.download_dialog import offer_download


class ModelChoiceGlue(QObject):
    """Connects the run panel's option boxes to the Session and the preferences.

    Args:
        window: the MainWindow (its session, run_panel, prefs, status bar).
    """

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.session = s = window.session
        self.panel = p = window.run_panel
        self.settings = window.prefs.settings
        self._run: tuple[str, float] | None = None  # (model, start time) of the run going on
        p.describe_model = lambda m: hints.tooltip(m, hints.measured(self.settings, m.name))
        p.modelChosen.connect(self.choose_model)
        p.deviceChosen.connect(self.choose_device)
        p.precisionChosen.connect(self.choose_precision)
        p.wienerToggled.connect(self.choose_wiener)
        s.engineReady.connect(self._on_engine_ready)
        s.separationDevice.connect(self._on_started)
        s.separationFinished.connect(self._on_finished)

    def restore(self) -> None:
        """The choices of the last session (each checked by the settings schema)."""
        prefs, s = self.window.prefs, self.session
        s.set_model(prefs.get("model", s.model_name))
        s.set_device(prefs.get("device", "auto"))
        s.set_precision(prefs.get("precision", "auto"))
        self.panel.set_precision(prefs.get("precision", "auto"))
        self.panel.wiener.setChecked(prefs.get("wiener", False) is True)

    def _on_engine_ready(self) -> None:
        s = self.session
        self.panel.set_models(s.models, s.model_name)
        if s.device_name not in ("auto", *s.devices):
            s.set_device("auto")
        self.panel.set_devices(s.devices, s.device_name)

    def choose_model(self, name: str) -> None:
        if not name:
            return
        w = self.window
        choice = next((m for m in self.session.models if m.name == name), None)
        if choice is not None and not choice.installed and choice.archive:
            w.download_dialog = offer_download(w, choice, self.on_installed)
            return
        self.session.set_model(name)
        w.prefs.set("model", name)
        self.session.warm_up()

    def on_installed(self, name: str) -> None:
        self.session.mark_installed(name)
        self.panel.set_models(self.session.models, name)
        self.choose_model(name)
        self.window.statusBar().showMessage(f"Model {name} installed.", 5000)

    def choose_device(self, name: str) -> None:
        self.session.set_device(name)
        self.window.prefs.set("device", name)

    def choose_precision(self, name: str) -> None:
        self.session.set_precision(name)
        self.window.prefs.set("precision", name)

    def choose_wiener(self, on: bool) -> None:
        self.session.set_wiener(on)
        self.window.prefs.set("wiener", on)

    # -- speed on this machine -----------------------------------------------------------

    def _on_started(self, _device: str) -> None:
        # The model is loaded by now: a short song would otherwise be timed as the load.
        self._run = (self.session.model_name, time.monotonic())

    def _on_finished(self, _stems) -> None:
        """The run from its start on the device to the last stem."""
        if self._run is None or self.session.audio is None:
            return
        name, started = self._run
        self._run = None
        device = self.session.device_in_use or "cpu"
        hints.record(self.settings, name, device, self.session.audio.duration_s,
                     time.monotonic() - started)
        self.panel.refresh_tooltips(self.session.models)
