"""Projects in the window: File > Save Project / Save Project As / Open Project, unsaved work.

A project (``.stemsplit``, written and read by ``stemsplit.core.project``) holds the
song's path, the model, the separated stems, the mask edits and the mixer settings,
so a long edit survives a restart without a re-separation. This module keeps track
of unsaved work, shows it in the window title ('*'), and asks Save / Discard /
Cancel before anything would throw it away (closing, another song, separating again).

Unsaved work is: mask edits not saved, a finished separation not saved or exported
(minutes of htdemucs_ft), and mixer changes since the stems arrived or were saved.
The mark goes only when the work is saved, or when whatever replaces it has
*succeeded* (the other song opened, the new run finished): answering Discard and
then failing to open a file keeps it. Saving runs off the GUI thread.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QCheckBox, QFileDialog, QMessageBox

from stemsplit.gui.common import folders
from stemsplit.gui.common.names import APP_NAME

PROJECT_SUFFIX = ".stemsplit"
PROJECT_FILTER = "stemsplit projects (*.stemsplit);;All files (*)"


def _within_song(rng, session) -> tuple[float, float]:
    """The saved visible span inside the song (pyqtgraph crashes painting +-1e308)."""
    end = session.audio.duration_s if session.audio is not None else 0.0
    lo, hi = (min(max(float(x), 0.0), end) if math.isfinite(float(x)) else 0.0 for x in rng)
    return (lo, hi) if hi > lo else (0.0, end)


def is_project(path) -> bool:
    return Path(path).suffix.lower() == PROJECT_SUFFIX


class ProjectGlue(QObject):
    """Save / open projects and guard unsaved work for a MainWindow.

    Signals:
        dirtyChanged(bool): there is unsaved work now (or not any more).
        saved(path): the project was written to ``path``.
    """

    dirtyChanged = Signal(bool)
    saved = Signal(object)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.path: Path | None = None  # where the project was last saved or opened
        self.question: QMessageBox | None = None
        self.saving = False
        self.run_unsaved = False  # a finished separation, not saved or exported yet
        self._edits_dirty = False
        self._mixer_baseline: dict | None = None  # the mixer as saved / as the stems came
        self._dirty = False
        self._save_token = 0
        self.page_out_min: int | None = None  # bytes; None: project_open's default (tests: 0)
        self.actions = self._build_menu()
        window.edits.editsChanged.connect(self._on_edits_changed)
        self.session.songLoaded.connect(lambda _a: self.forget())
        self.session.projectOpened.connect(self._on_project)
        self.session.separationFinished.connect(self._on_separated)
        self.session.stemsReady.connect(self._after_stems)
        self.session.stemsCleared.connect(self.update_state)
        self._mixer_timer = QTimer(self)  # the player has no signals: look twice a second
        self._mixer_timer.setInterval(500)
        self._mixer_timer.timeout.connect(self.update_state)
        self._mixer_timer.start()
        self.update_state()

    def _build_menu(self) -> dict[str, QAction]:
        w = self.window
        a = {}
        for key, text, keys, slot in (
                ("open_project", "Open &Project…", ["Ctrl+Shift+O"], self.open_dialog),
                ("save_project", "&Save Project", [QKeySequence.Save], self.save),
                ("save_project_as", "Save Project &As…", ["Ctrl+Shift+S"], self.save_as)):
            action = QAction(text, w)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.triggered.connect(lambda _c=False, s=slot: s())
            w.addAction(action)
            a[key] = action
        file_menu = w.menuBar().actions()[0].menu()
        before = w.actions["export"]  # after Open / Open Recent, before Export
        file_menu.insertAction(before, a["open_project"])
        file_menu.insertAction(before, a["save_project"])
        file_menu.insertAction(before, a["save_project_as"])
        file_menu.insertSeparator(before)
        return a

    # -- state ---------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        """Unsaved work: edits, a finished separation, or mixer changes."""
        return self._edits_dirty or self.run_unsaved or self.mixer_changed()

    @property
    def edits_unsaved(self) -> bool:
        return self._edits_dirty

    def mixer_changed(self) -> bool:
        if self._mixer_baseline is None or self.session.stems is None:
            return False
        return self.mixer_state() != self._mixer_baseline

    def set_dirty(self, dirty: bool) -> None:
        """False: everything as it is now counts as saved (tests, after a save)."""
        if not dirty:
            self._edits_dirty = self.run_unsaved = False
            self._reset_mixer_baseline()
        else:
            self.run_unsaved = True
        self.update_state()

    def _reset_mixer_baseline(self) -> None:
        self._mixer_baseline = self.mixer_state() if self.session.stems is not None else None

    def _on_edits_changed(self) -> None:
        self._edits_dirty = self.window.edits.dirty
        self.update_state()

    def _on_separated(self, _stems) -> None:
        self.run_unsaved = True  # minutes of work; the mixer starts from its defaults

    def exported(self, _paths=None) -> None:
        """The stems were exported: the separation and mixer are kept in files now."""
        self.run_unsaved = False
        self._reset_mixer_baseline()
        self.update_state()

    def update_state(self) -> None:
        has_stems = self.session.stems is not None
        self.actions["save_project"].setEnabled(has_stems and not self.saving)
        self.actions["save_project_as"].setEnabled(has_stems and not self.saving)
        dirty = self.dirty
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirtyChanged.emit(dirty)
        title = self.title()
        if self.window.windowTitle() != title:
            self.window.setWindowTitle(title)

    def title(self) -> str:
        """"<project or song> — stemsplit", with '*' after the name while work is unsaved."""
        audio = self.session.audio
        if self.path is not None:
            name = self.path.stem
        elif audio is not None and audio.path:
            name = Path(audio.path).name
        else:
            return APP_NAME
        return f"{name}{'*' if self.dirty else ''} — {APP_NAME}"

    # -- guarding unsaved work -----------------------------------------------------------

    def confirm_discard(self, doing: str, edits_only: bool = False) -> bool:
        """True when the work may go: none unsaved, saved now, or the user discards it.

        Discard changes nothing yet: the mark goes when the replacing action succeeds.

        Args:
            doing: what is about to happen, for the question ("closing the window").
            edits_only: ask only about edits (a re-run keeps the separation until it
                succeeds, and the user asked for a new one).
        """
        if not self.dirty or (edits_only and not self._edits_dirty):
            return True
        prefs = self.window.prefs
        if not self._edits_dirty and not prefs.get("ask_unsaved_run", True):
            return True
        name = self.path.stem if self.path else self._song_name()
        if self._edits_dirty:
            text, info, ask_again = (f"Save the mask edits of {name} before {doing}?",
                                     "Without saving, your edits are lost.", None)
        else:
            what = "separation" if self.run_unsaved else "mixer settings"
            text = f"Save the {what} of {name} as a project before {doing}?"
            info = ("Without saving, the stems must be separated again next time."
                    if self.run_unsaved else "Without saving, the mixer settings are lost.")
            ask_again = QCheckBox("Don't ask again about unsaved separations and mixer settings")
        box = QMessageBox(QMessageBox.Warning, "Unsaved work", text,
                          QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel,
                          self.window)
        box.setInformativeText(info)
        box.setDefaultButton(QMessageBox.Save)
        if ask_again is not None:
            box.setCheckBox(ask_again)
        self.question = box
        try:
            answer = box.exec()
        finally:
            self.question = None
        if ask_again is not None and ask_again.isChecked() and answer != QMessageBox.Cancel:
            prefs.set("ask_unsaved_run", False)
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    def confirm_stop_run(self, doing: str) -> bool:
        """True when no separation runs, or the user agrees to stop it (and lose it)."""
        if not self.session.separating:
            return True
        box = QMessageBox(QMessageBox.Question, "Stop separating?",
                          f"Stop separating {self._song_name()} before {doing}?",
                          parent=self.window)
        box.setInformativeText("The separation is not finished; stopping it loses what it "
                               "has done so far.")
        stop = box.addButton("Stop and Close", QMessageBox.AcceptRole)
        keep = box.addButton("Keep Separating", QMessageBox.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        self.question = box
        try:
            box.exec()
        finally:
            self.question = None
        return box.clickedButton() is stop or not self.session.separating

    def _song_name(self) -> str:
        audio = self.session.audio
        return Path(audio.path).name if audio is not None and audio.path else "this song"

    # -- commands ------------------------------------------------------------------------

    def open_folder(self) -> Path:
        """Where Open Project starts: this project's folder, else where the last one was."""
        if self.path is not None and folders.usable(self.path.parent):
            return self.path.parent
        return folders.suggest("project", self.window.prefs.settings)

    def suggested_path(self) -> Path:
        """What Save Project As proposes: beside the song, unless that is no place to write."""
        audio = self.session.audio
        name = (self.path.name if self.path else Path(audio.path).stem + PROJECT_SUFFIX
                if audio and audio.path else f"untitled{PROJECT_SUFFIX}")
        folder = (self.path.parent if self.path and folders.usable(self.path.parent) else
                  folders.suggest("project", self.window.prefs.settings,
                                  audio.path if audio else None, song_first=True))
        return folder / name

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open a project",
                                              str(self.open_folder()), PROJECT_FILTER)
        if path:
            folders.remember("project", self.window.prefs.settings, Path(path).parent)
            self.window.open_path(path)

    def save(self) -> bool:
        """Save to the project's file (asks where the first time); True when saved."""
        if self.path is None:
            return self.save_as()
        return self.save_to(self.path)

    def save_as(self) -> bool:
        if self.session.stems is None:
            return False
        path, _ = QFileDialog.getSaveFileName(self.window, "Save the project",
                                              str(self.suggested_path()), PROJECT_FILTER)
        if not path:
            return False
        if not is_project(path):
            path += PROJECT_SUFFIX
        return self.save_to(Path(path))

    def save_to(self, path: Path) -> bool:
        """Write the project (base stems, edits, mixer and view settings) to ``path``.

        The writing runs in the edit worker, after the edits queued before it (so they
        are in the file) and off the GUI thread; the window stays responsive and shows
        the progress meanwhile. Returns once written: True when saved.
        """
        w, s = self.window, self.session
        applier = w.edits.applier
        if self.saving:
            return False
        if s.audio is None or s.stems is None or (applier.editor is None
                                                  and not applier.worker.busy):
            w.banner.show_message("Separate the song first; then it can be saved as a project.",
                                  "info")
            return False
        path = Path(path)
        song, model = s.audio.path, (s.stems.model if s.stems else "") or s.model_name
        mixer, view, mix = self.mixer_state(), self.view_state(), s.audio.samples
        loop_region = self.loop_state()
        self._save_token += 1
        tag = ("save", self._save_token)

        def job():  # edit worker thread: no edit runs meanwhile
            from stemsplit.core.errors import StemsplitError
            from stemsplit.core.project import save_project
            editor = applier.editor
            if editor is None:
                return "Separate the song first; then it can be saved as a project."
            try:
                written = save_project(path, song_path=song, model=model,
                                       stems=editor.base_stems(), edits=editor.history,
                                       mixer=mixer, view=view, mix=mix, loop=loop_region)
            except StemsplitError as exc:
                return str(exc)
            editor.mark_saved()
            return Path(written), list(editor.history)

        outcome: list = []
        loop = QEventLoop()

        def done(t, result) -> None:
            if t == tag:
                outcome.append(result)
                loop.quit()

        def failed(t, message) -> None:
            if t == tag:
                outcome.append(f"Cannot save {path.name}: {message}")
                loop.quit()

        applier.worker.done.connect(done)
        applier.worker.failed.connect(failed)
        self.saving = True
        self.update_state()
        started = time.monotonic()
        ticker = QTimer(self)
        ticker.timeout.connect(lambda: w.statusBar().showMessage(
            f"Saving {path.name}… {time.monotonic() - started:.0f} s"))
        ticker.start(250)
        w.statusBar().showMessage(f"Saving {path.name}…")
        try:
            applier.worker.submit(tag, job)
            if not outcome:
                loop.exec()
        finally:
            ticker.stop()
            ticker.deleteLater()
            applier.worker.done.disconnect(done)
            applier.worker.failed.disconnect(failed)
            self.saving = False
        result = outcome[0] if outcome else "Cannot save the project."
        if isinstance(result, str):
            w.statusBar().clearMessage()
            w.banner.show_message(result)
            self.update_state()
            return False
        written, edits = result
        # Results of edits queued before the save came in already; later ones follow.
        applier.state = applier.state._replace(dirty=False)
        self.path = written
        folders.remember("project", w.prefs.settings, written.parent)
        self._edits_dirty = False
        self.run_unsaved = False
        self._mixer_baseline = mixer
        self.update_state()
        w.statusBar().showMessage(f"Saved {self.path.name}.", 5000)
        self.saved.emit((written, edits))
        return True

    def open_project(self, path) -> None:
        """Open a project (through the session's loader: off the GUI thread), once the
        open song waits on disk (``project_open``)."""
        from stemsplit.gui.project_open import old_song_to_disk

        self.session.load(path, after=old_song_to_disk(self.window, self.page_out_min))

    def forget(self) -> None:
        """Another song was opened: it is not the project any more, nothing is unsaved."""
        self.path = None
        self._pending = None
        self._edits_dirty = self.run_unsaved = False
        self._mixer_baseline = None
        self.update_state()

    # -- settings kept in the project ----------------------------------------------------

    def mixer_state(self) -> dict:
        playback = self.window.playback
        if playback is None or not playback.player.has_stems:
            return {}
        p = playback.player
        return {name: {"gain_db": p.gain_db(name), "solo": p.is_solo(name),
                       "mute": p.is_muted(name)} for name in p.names}

    def loop_state(self):
        """The loop to keep in the project (``core.project.Loop``), or None."""
        from stemsplit.core.project import Loop

        playback, span = self.window.playback, self.window.view.loop_span()
        on = playback is not None and playback.player.loop_enabled
        if span is None and on and self.session.audio is not None:  # the whole song loops
            span = (0.0, self.session.audio.duration_s)
        return Loop(span[0], span[1], on) if span is not None and span[1] > span[0] else None

    def view_state(self) -> dict:
        v = self.window.view
        return {"scale": v.scale, "mode": v.mode, "x_range": list(v.x_range())}

    def _on_project(self, project) -> None:
        recovered = getattr(project, "recovered_from", None) is not None
        self.path = project.project_path if recovered else Path(project.path)
        self._pending = project
        self.window.edits.pending_edits = list(project.edits)
        self.window.runs.show_stems()

    def _after_stems(self, _stems) -> None:
        """Runs after the player got the stems: restore the project's mixer and view."""
        project, self._pending = getattr(self, "_pending", None), None
        if project is not None:
            playback = self.window.playback
            if playback is not None and playback.player.has_stems:
                for name, st in project.mixer.items():
                    if name in playback.player.names and isinstance(st, dict):
                        playback.player.set_gain_db(name, float(st.get("gain_db", 0.0)))
                        playback.player.set_solo(name, bool(st.get("solo", False)))
                        playback.player.set_mute(name, bool(st.get("mute", False)))
            view = project.view
            if view.get("scale") in ("log", "linear"):
                self.window.stem_list.set_scale(view["scale"])
            recovered = getattr(project, "recovered_from", None) is not None
            # a recovered session's loop is the recovery glue's (its own format)
            if not recovered and project.loop is not None and playback is not None:
                playback.restore_loop(project.loop.start, project.loop.end, project.loop.on)
            rng = view.get("x_range")
            if isinstance(rng, list) and len(rng) == 2:
                self.window.view.set_x_range(*_within_song(rng, self.session))
            if project.notes:
                self.window.banner.show_message(
                    f"{Path(project.path).name} opened; some of its settings could not be "
                    f"used and were reset: {'; '.join(project.notes)[:300]}.", "info")
            # A restored session is unsaved work; an opened project is what was saved.
            self.run_unsaved = recovered
        self._reset_mixer_baseline()
        self.update_state()
