"""Plugs playback (Player, TransportBar, MixerPanel) and export into the main window.

The window stays usable without them: if PortAudio or the playback package is
missing, the transport and mixer areas stay empty and the reason is logged.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject

log = logging.getLogger(__name__)


class PlaybackGlue(QObject):
    """Keeps a Player in step with the Session and draws its playhead on the views.

    Args:
        window: the MainWindow (uses its session, view, overview, areas and prefs).
    """

    def __init__(self, window) -> None:
        super().__init__(window)
        from stemsplit.gui.playback.mixer_panel import MixerPanel
        from stemsplit.gui.playback.transport_bar import TransportBar
        from stemsplit.playback import Player

        self.window = window
        self.session = window.session
        self.player = Player.from_settings(window.prefs.settings)
        self.follow = bool(window.prefs.get("follow_playhead", True))
        self.transport = TransportBar(self.player)
        self.mixer = MixerPanel(self.player, self.session.stem_colours)
        window.transport_area.layout().addWidget(self.transport)
        window.mixer_area.layout().addWidget(self.mixer)
        self.shortcuts = (self.transport.install_shortcuts(window)
                          + self.mixer.install_shortcuts(window))

        s = self.session
        s.songLoaded.connect(self._on_song)
        s.separationStarted.connect(self._on_run_started)
        s.stemsAvailable.connect(self.player.set_available)
        s.stemsReady.connect(self._on_stems)
        s.separationFailed.connect(self._back_to_mix)
        s.separationCancelled.connect(self._back_to_mix)
        self.transport.positionChanged.connect(self._on_position)
        self.transport.errorOccurred.connect(lambda m: window.banner.show_message(m))
        window.view.clickedAt.connect(self.transport.seek_seconds)
        window.view.loopChanged.connect(self._on_loop_drawn)
        from stemsplit.gui.common.widgets import observe_player

        observe_player(window.overview, self.player,
                       lambda: window.overview.set_loop_on(self.player.loop_enabled))
        from stemsplit.gui.playback.menu import PlaybackMenu

        self.menu = PlaybackMenu(self, window)
        bar = window.menuBar()
        help_menu = bar.actions()[-1]  # Playback goes before Help
        bar.insertMenu(help_menu, self.menu)

    def _on_song(self, audio) -> None:
        self.player.set_sources(audio.samples, audio.sample_rate)
        self._on_position(0.0)

    def _on_run_started(self) -> None:
        if self.session.replacing:
            return  # the finished stems play on until the new ones are ready
        # Stems become audible chunk by chunk, as the engine finishes them.
        self.mixer.set_colours(self.session.stem_colours)
        if self.session.partial_stems:
            self.player.set_stems(self.session.partial_stems, available=0)

    def _on_stems(self, stemset) -> None:
        self.mixer.set_colours(self.session.stem_colours)
        self.player.set_stems(stemset.stems)

    def _back_to_mix(self, *_args) -> None:
        """A first run stopped: play the mix again (a re-run's old stems stay)."""
        if self.session.stems is not None:
            return
        if self.session.audio is not None and self.player.has_stems:
            self.player.set_stems(None)

    def _on_position(self, seconds: float) -> None:
        self.window.view.set_playhead(seconds)
        self.window.overview.set_playhead(seconds)
        if self.follow and self.player.is_playing:
            self.window.view.follow(seconds)

    # -- looping, following, device ------------------------------------------------------

    def _on_loop_drawn(self, start: float, end: float) -> None:
        """A region drawn on the spectrogram becomes the loop, and looping turns on."""
        sr = self.player.sample_rate
        if end <= start or not sr:
            self.player.set_loop_region(None)
            return
        a, b = round(start * sr), round(end * sr)
        self.player.set_loop_region(a, b)
        self.player.set_loop_enabled(True)
        if not a <= self.player.position < b:
            self.player.seek(a)  # outside the region the loop would never come round

    def loop_visible_range(self) -> None:
        if self.session.audio is None:
            return
        start, end = self.window.view.x_range()
        end = min(end, self.session.audio.duration_s)
        self.window.view.set_loop((max(0.0, start), end))
        self._on_loop_drawn(max(0.0, start), end)

    def restore_loop(self, start: float, end: float, on: bool) -> None:
        """Put back a saved loop (an opened project): the region, and looping on or off."""
        self.window.view.set_loop((start, end))
        sr = self.player.sample_rate
        if sr:
            self.player.set_loop_region(round(start * sr), round(end * sr))
        self.player.set_loop_enabled(on)

    def clear_loop_region(self) -> None:
        self.window.view.set_loop(None)
        self.player.set_loop_region(None)

    def set_follow(self, on: bool) -> None:
        self.follow = bool(on)
        self.window.prefs.set("follow_playhead", self.follow)

    def choose_device(self, name: str | None) -> None:
        """Play through another output device (None: the system default); remembered."""
        if not self.player.set_device(name, settings=self.window.prefs.settings):
            return  # the player reports the failure; the transport shows it
        label = name or "the system default output"
        self.window.statusBar().showMessage(f"Playing through {label}.", 4000)

    def mix_gains(self) -> list[float] | None:
        """The mixer's effective gains per stem (for "export what you hear")."""
        stems = self.session.stems
        if stems is None or tuple(self.player.names) != tuple(stems.names):
            return None
        return [float(g) for g in self.player.settings.gains]

    def mix_soloed(self) -> list[str]:
        """The stems soloed in the mixer (they name the "what you hear" file)."""
        return [n for n in self.player.names if self.player.is_solo(n)]

    def close(self) -> None:
        self.player.close()


def attach_playback(window) -> PlaybackGlue | None:
    """Add playback to ``window``; None (and a log line) when it cannot work here."""
    try:
        return PlaybackGlue(window)
    except Exception as exc:  # no PortAudio, no device, or the package is missing
        log.warning("playback is not available: %s", exc)
        return None


def open_export_dialog(window, glue: PlaybackGlue | None):
    """File > Export…: the export dialog for the session's stems (non-modal)."""
    from stemsplit.core.audio.export import song_name
    from stemsplit.gui.export.dialog import ExportDialog
    from stemsplit.gui.export.result import summary

    stems = window.session.stems
    dialog = ExportDialog(stems, song_name(stems), window.prefs.settings,
                          mix_gains=glue.mix_gains() if glue is not None else None,
                          parent=window, mix_soloed=glue.mix_soloed() if glue else ())
    dialog.finished_export.connect(
        lambda paths: window.statusBar().showMessage(summary(paths), 15_000))
    dialog.open()
    return dialog
