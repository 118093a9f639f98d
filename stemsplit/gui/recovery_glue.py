"""Crash recovery in the window: keep the snapshot up to date, offer it after a crash.

``stemsplit.core.recovery`` does the writing and reading; this module decides
when. Each finished separation's stems are written once, each change of the edit
list is journalled, the mixer and loop are kept in the state file, all in one
background thread, in order. Saving points the snapshot at the saved project;
a clean quit, a discard that went through (another song opened) or a new song
deletes it. At start, a snapshot no live window holds is offered back.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox

log = logging.getLogger(__name__)


def recovery_root() -> Path:
    from stemsplit.settings import data_dir

    return data_dir() / "recovery"


class SerialWriter(QObject):
    """One background thread running jobs in submission order; errors come back as a signal."""

    failed = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._jobs: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="stemsplit-recovery",
                                        daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every job submitted so far has run; True when it did in time."""
        done = threading.Event()
        self._jobs.put(done.set)
        return done.wait(timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        self._jobs.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception as exc:  # a full disk must never take the window down
                log.warning("crash recovery: %s", exc, exc_info=True)
                self.failed.emit(getattr(exc, "strerror", None) or str(exc))
            del job  # its closure holds a song's stems: not until the next job


class RecoveryGlue(QObject):
    """Keeps the window's recovery folder and offers orphans back.

    Args:
        window: the MainWindow (session, edits, projects, playback, banner).
        root: where recovery folders live (the user's data folder by default).
    """

    def __init__(self, window, root: Path | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.session = s = window.session
        self.root = root or recovery_root()
        self.writer = SerialWriter(self)
        self.writer.failed.connect(self._on_failed)
        self._folder = None  # RecoveryFolder; touched only by the writer thread
        self._opened = None  # the project whose stems come next (projectOpened)
        self._restoring = None  # the Orphan being loaded
        self._told_failure = False
        self._last_settings: tuple | None = None
        self.question: QMessageBox | None = None
        s.songLoaded.connect(lambda _a: self._end())
        s.stemsCleared.connect(self._end)
        s.projectOpened.connect(self._on_project)
        s.stemsReady.connect(self._on_stems)
        s.loadFailed.connect(self._on_load_failed)
        window.edits.applier.changed.connect(self._on_edits)
        window.projects.dirtyChanged.connect(self._on_dirty)
        window.projects.saved.connect(self._on_saved)
        self._timer = QTimer(self)  # the player has no signals: look once a second
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._check_settings)
        self._timer.start()

    # -- keeping the snapshot --------------------------------------------------------------

    def _ensure(self):
        from stemsplit.core.recovery import RecoveryFolder

        if self._folder is None:
            self._folder = RecoveryFolder(self.root)
        return self._folder

    def _on_project(self, project) -> None:
        self._opened = project

    def _on_stems(self, stems) -> None:
        project, self._opened = self._opened, None
        s = self.session
        song, model = (s.audio.path if s.audio else None), stems.model or s.model_name
        settings = self._settings()
        self._last_settings = settings
        orphan = getattr(project, "orphan", None)
        if orphan is not None:  # restored: that folder goes on, nothing is copied
            from stemsplit.core.recovery import RecoveryFolder

            edits = list(project.edits)

            def adopt() -> None:
                self._drop_folder()
                self._folder = RecoveryFolder(self.root, orphan.folder, orphan.held)
                self._folder.continue_from(edits)
                self._folder.update(unsaved=True)
            self._restoring = None
            self.writer.submit(adopt)
            self.restored_loop(project)
            return
        if project is not None:
            path, edits = Path(project.path), list(project.edits)
            self.writer.submit(lambda: self._ensure().use_project(
                path, edits, song_path=song, model=model))
            return
        mix, base = s.audio.samples, stems

        def write() -> None:
            folder = self._ensure()
            folder.write_base(song_path=song, model=model, stems=base, mix=mix)
            folder.update(unsaved=True, mixer=settings[0], loop=settings[1])
        self.writer.submit(write)

    def _on_edits(self) -> None:
        edits = list(self.window.edits.applier.state.edits)
        self.writer.submit(lambda: self._folder is not None and self._folder.journal(edits))

    def _on_dirty(self, dirty: bool) -> None:
        self.writer.submit(lambda: self._folder is not None and self._folder.update(
            unsaved=bool(dirty)))

    def _on_saved(self, saved) -> None:
        path, edits = saved
        s = self.session
        song = s.audio.path if s.audio else None
        model = (s.stems.model if s.stems else "") or s.model_name
        self.writer.submit(lambda: self._folder is not None and self._folder.use_project(
            path, edits, song_path=song, model=model))

    def _settings(self) -> tuple[dict, dict]:
        mixer = self.window.projects.mixer_state()
        loop: dict = {}
        playback = self.window.playback
        if playback is not None and playback.player.sample_rate:
            p = playback.player
            region = p.loop_region
            loop = {"enabled": bool(p.loop_enabled),
                    "region_s": [r / p.sample_rate for r in region] if region else None}
        return mixer, loop

    def _check_settings(self) -> None:
        if self.session.stems is None:
            return
        settings = self._settings()
        if settings != self._last_settings:
            self._last_settings = settings
            mixer, loop = settings
            self.writer.submit(lambda: self._folder is not None and self._folder.update(
                mixer=mixer, loop=loop))

    def _drop_folder(self) -> None:
        """(writer thread) The work it holds is gone: so is the folder."""
        if self._folder is not None:
            self._folder.remove()
            self._folder = None

    def _end(self) -> None:
        self.writer.submit(self._drop_folder)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until the snapshot holds everything done so far (before asking to quit)."""
        return self.writer.flush(timeout_s)

    def close(self, keep: bool = False) -> None:
        """The window closes. ``keep``: leave the snapshot (work was not saved or discarded)."""
        self._timer.stop()
        if not keep:
            self.writer.submit(self._drop_folder)
        else:
            self.writer.submit(lambda: self._folder is not None and self._folder.release())
        self.writer.close()

    def _on_failed(self, reason: str) -> None:
        if not self._told_failure:
            self._told_failure = True
            self.window.banner.show_message(
                f"Crash recovery cannot write to {self.root} ({reason}); save the project "
                "to keep your work safe.")

    # -- offering it back ------------------------------------------------------------------

    def offer(self) -> bool:
        """Ask about each snapshot a window that died left; True when one is being restored."""
        from stemsplit.core.recovery import find_orphans

        orphans, notes = find_orphans(self.root)
        for note in notes:
            self.window.banner.show_message(note, "info")
        restoring = False
        for orphan in orphans:
            if restoring:
                orphan.release()  # asked about at the next start
                continue
            answer = self._ask(orphan)
            if answer == "restore":
                restoring = True
                self._restoring = orphan
                self.session.load(str(orphan.folder), recover=orphan)
            elif answer == "discard":
                orphan.discard()
            else:
                orphan.release()
        return restoring

    def _ask(self, orphan) -> str:
        model = f" ({orphan.model})" if orphan.model else ""
        box = QMessageBox(QMessageBox.Question, "Restore unsaved work?",
                          f"stemsplit did not close normally. Restore the unsaved work on "
                          f"{orphan.song}{model}, as it was at {orphan.when}?",
                          parent=self.window)
        box.setInformativeText("Restore opens the stems with their edits and mixer settings. "
                               "Discard deletes this snapshot; Not Now asks again next time.")
        box.setObjectName("restore_question")
        restore = box.addButton("Restore", QMessageBox.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.DestructiveRole)
        later = box.addButton("Not Now", QMessageBox.RejectRole)
        box.setDefaultButton(restore)
        box.setEscapeButton(later)
        self.question = box
        try:
            box.exec()
        finally:
            self.question = None
        clicked = box.clickedButton()
        return "restore" if clicked is restore else "discard" if clicked is discard else "later"

    def _on_load_failed(self, message: str) -> None:
        orphan, self._restoring = self._restoring, None
        if orphan is None:
            return
        from stemsplit.core.recovery.orphans import set_aside

        orphan.release()
        self.window.banner.show_message(set_aside(orphan.folder, self.root, message))

    def restored_loop(self, project) -> None:
        """Put a restored session's loop back (the player has the stems by now)."""
        loop = getattr(project, "loop", None) or {}
        playback = self.window.playback
        region = loop.get("region_s")
        if playback is None or not isinstance(region, list) or len(region) != 2:
            return
        a, b = float(region[0]), float(region[1])
        self.window.view.set_loop((a, b))
        playback._on_loop_drawn(a, b)
        playback.player.set_loop_enabled(bool(loop.get("enabled", True)))
