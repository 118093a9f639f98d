"""Projects in the window: File > Save Project / Save Project As / Open Project, unsaved work.

A project (``.stemsplit``, written and read by ``stemsplit.core.project``) holds the
song's path, the model, the separated stems, the mask edits and the mixer settings,
so a long edit survives a restart without a re-separation. This module keeps the
"unsaved edits" flag, shows it in the window title ('*'), and asks Save / Discard /
Cancel before anything would throw the edits away (closing, another song, separating
again).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from stemsplit.gui.common import folders
from stemsplit.gui.common.names import APP_NAME

PROJECT_SUFFIX = ".stemsplit"
PROJECT_FILTER = "stemsplit projects (*.stemsplit);;All files (*)"


def is_project(path) -> bool:
    return Path(path).suffix.lower() == PROJECT_SUFFIX


class ProjectGlue(QObject):
    """Save / open projects and guard unsaved edits for a MainWindow.

    Signals:
        dirtyChanged(bool): edits were made since the last save (or not any more).
    """

    dirtyChanged = Signal(bool)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.path: Path | None = None  # where the project was last saved or opened
        self.dirty = False
        self.question: QMessageBox | None = None
        self.actions = self._build_menu()
        window.edits.editsChanged.connect(lambda: self.set_dirty(window.edits.dirty))
        self.session.projectOpened.connect(self._on_project)
        self.session.stemsReady.connect(self._after_stems)
        self.session.stemsCleared.connect(self.update_state)
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

    def set_dirty(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self.dirtyChanged.emit(dirty)
        self.update_state()

    def update_state(self) -> None:
        has_stems = self.session.stems is not None
        self.actions["save_project"].setEnabled(has_stems)
        self.actions["save_project_as"].setEnabled(has_stems)
        self.window.setWindowTitle(self.title())

    def title(self) -> str:
        """"<project or song> — stemsplit", with '*' after the name while edits are unsaved."""
        audio = self.session.audio
        if self.path is not None:
            name = self.path.stem
        elif audio is not None and audio.path:
            name = Path(audio.path).name
        else:
            return APP_NAME
        return f"{name}{'*' if self.dirty else ''} — {APP_NAME}"

    # -- guarding unsaved edits ----------------------------------------------------------

    def confirm_discard(self, doing: str) -> bool:
        """True when the edits may go: none unsaved, saved now, or the user discards them.

        Args:
            doing: what is about to happen, for the question ("closing the window").
        """
        if not self.dirty:
            return True
        name = self.path.stem if self.path else "this song"
        box = QMessageBox(QMessageBox.Warning, "Unsaved edits",
                          f"Save the mask edits of {name} before {doing}?",
                          QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel,
                          self.window)
        box.setInformativeText("Without saving, your edits are lost.")
        box.setDefaultButton(QMessageBox.Save)
        self.question = box
        try:
            answer = box.exec()
        finally:
            self.question = None
        if answer == QMessageBox.Save:
            return self.save()
        if answer == QMessageBox.Discard:
            self.set_dirty(False)
            return True
        return False

    # -- commands (filled in with core.project) ------------------------------------------

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
        """Write the project (base stems, edits, mixer and view settings) to ``path``."""
        from stemsplit.core.errors import StemsplitError
        from stemsplit.core.project import save_project

        w, s = self.window, self.session
        w.edits.applier.worker.wait()  # edits still being applied belong in the file
        editor = w.edits.editor
        if editor is None or s.audio is None:
            w.banner.show_message("Separate the song first; then it can be saved as a project.",
                                  "info")
            return False
        base = editor.base_stems()
        try:
            written = save_project(path, song_path=s.audio.path,
                                   model=(s.stems.model if s.stems else "") or s.model_name,
                                   stems=base, edits=editor.history, mixer=self.mixer_state(),
                                   view=self.view_state(), mix=s.audio.samples,
                                   loop=self.loop_state())
        except StemsplitError as exc:
            w.banner.show_message(str(exc))
            return False
        w.edits.applier.mark_saved()
        self.path = Path(written)
        folders.remember("project", w.prefs.settings, self.path.parent)
        self.set_dirty(False)
        w.statusBar().showMessage(f"Saved {self.path.name}.", 5000)
        return True

    def open_project(self, path) -> None:
        """Open a project (through the session's loader: off the GUI thread)."""
        self.session.load(path)

    def forget(self) -> None:
        """Another song is opened: it is not the project any more."""
        self.path = None
        self.set_dirty(False)

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
        self.path = Path(project.path)
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
            if project.loop is not None and playback is not None:
                playback.restore_loop(project.loop.start, project.loop.end, project.loop.on)
            rng = view.get("x_range")
            if isinstance(rng, list) and len(rng) == 2:
                self.window.view.set_x_range(float(rng[0]), float(rng[1]))
            self.dirty = False
        self.update_state()
