"""The window's side of a separation run: start, progress, end, and never losing work.

* While a run goes on, Separate is disabled and reads "Separating…"; Cancel sits
  with the progress in the status bar (and Esc), away from where a second click
  on Separate lands.
* A run over finished stems (``Session.replacing``) leaves them drawn, playing and
  exportable; the new stems take their place only when the run succeeds.
* Opening another song during a run first asks whether to stop it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from stemsplit.gui.common.names import display_name


def song_label(path) -> str:
    return Path(path).name if path else "this song"


class RunGlue(QObject):
    """Connects the Session's run signals to the window's views, progress and banner.

    Args:
        window: the MainWindow (uses its session, view, stem list, progress, banner).
    """

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.session = s = window.session
        self.question: QMessageBox | None = None  # the open "stop separating?" box
        s.separationStarted.connect(self._on_started)
        s.separationDevice.connect(window.progress.set_device)
        s.separationProgress.connect(window.progress.update_progress)
        s.masksUpdated.connect(window.view.masks_changed)
        s.separationFinished.connect(self._on_finished)
        s.separationFailed.connect(self._on_failed)
        s.separationCancelled.connect(self._on_cancelled)

    # -- commands ------------------------------------------------------------------------

    def separate(self) -> None:
        w = self.window
        if self.session.audio is None:
            w.banner.show_message("Open a song first.", "info")
            return
        w.banner.hide()
        self.session.separate()

    def cancel(self) -> None:
        if self.session.separating:
            self.session.cancel()
            self.window.progress.cancel.setEnabled(False)
            self.window.progress.eta.setText("cancelling…")

    def confirm_open(self, path) -> bool:
        """True when ``path`` may be opened now: no run, or the user agreed to stop it."""
        s = self.session
        if not s.separating:
            return True
        running = song_label(s.audio.path if s.audio is not None else None)
        box = QMessageBox(QMessageBox.Question, "Stop separating?",
                          f"Stop separating {running} and open {song_label(path)}?",
                          parent=self.window)
        box.setInformativeText(
            "The separation is not finished yet; opening another song stops it."
            + (" The stems you have of this song are let go too." if s.stems is not None
               else ""))
        stop = box.addButton("Stop and Open", QMessageBox.AcceptRole)
        keep = box.addButton("Keep Separating", QMessageBox.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.setObjectName("stop_run_question")
        self.question = box
        try:
            box.exec()
        finally:
            self.question = None
        # The run may have ended while the question was open; then there is nothing to stop.
        return box.clickedButton() is stop or not s.separating

    # -- session events ------------------------------------------------------------------

    def _on_started(self) -> None:
        s, w = self.session, self.window
        w.statusBar().clearMessage()
        if s.replacing:
            w.progress.start("Separating again — the current stems stay until it is done…")
        else:
            self.show_stems()
            w.progress.start(f"Separating ({', '.join(map(display_name, s.stem_names))})…")
        w._update_state()

    def show_stems(self) -> None:
        """Give the views the session's stems and masks, keeping each overlay's tick."""
        s, w = self.session, self.window
        names, colours = s.stem_names, s.stem_colours
        visible = {n: w.stem_list.checks[n].isChecked()
                   for n in names if n in w.stem_list.checks}
        w.stem_list.set_stems(names, colours, visible)
        w.view.set_stems(names, colours)
        for name in names:
            w.view.set_overlay_visible(name, visible.get(name, True))
        w.view.set_masks(s.masks)

    def _on_finished(self, stems) -> None:
        w = self.window
        w.progress.stop()
        if w.view.masks is not self.session.masks:  # a re-run: its stems replace the old
            self.show_stems()
        w.statusBar().showMessage(
            f"Separated into {', '.join(map(display_name, stems.names))}.", 8000)
        w._update_state()

    def _clear_unfinished(self) -> None:
        """A first run stopped: the views go back to the song alone, as before it started."""
        s, w = self.session, self.window
        if s.stems is None and w.view.masks is not None and s.masks is None:
            w.stem_list.set_stems([], {})
            w.view.set_stems([], {})
            w.view.set_masks(None)

    def _on_failed(self, message: str) -> None:
        w = self.window
        w.progress.stop()
        self._clear_unfinished()
        kept = " The previous stems are kept." if self.session.stems is not None else ""
        w.banner.show_message(message + kept)
        w._update_state()

    def _on_cancelled(self, by_user: bool = True) -> None:
        w = self.window
        w.progress.stop()
        self._clear_unfinished()
        w._update_state()
        if not by_user:
            return  # a new song was opened; nothing to report
        if self.session.stems is not None:
            w.banner.show_message("Separation cancelled; the previous stems are kept.", "info")
        else:
            w.banner.show_message("Separation cancelled. The song is still loaded; press "
                                  "Separate to start again.", "info")
