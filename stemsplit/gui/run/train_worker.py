"""The training run on a background thread: the same progress and cancel as a separation."""

from __future__ import annotations

import logging
import threading
import traceback

from PySide6.QtCore import QThread, Signal

log = logging.getLogger(__name__)


class TrainThread(QThread):
    """Prepare and run ``core.training`` for one request; report through queued signals.

    Signals:
        started_run(str): what is being trained on what (one line).
        progress(object): a ``core.training.trainer.TrainProgress``.
        succeeded(str): the model's name, installed.
        failed(str): a sentence for the user.
        cancelled(): stopped on request; the checkpoint is saved for a resume.
    """

    started_run = Signal(str)
    progress = Signal(object)
    succeeded = Signal(str)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, request, parent=None) -> None:
        super().__init__(parent)
        self.request = request
        self.cancel = threading.Event()

    def run(self) -> None:
        from stemsplit.core.errors import Cancelled, StemsplitError
        from stemsplit.core.training import report
        from stemsplit.core.training.setup import describe, prepare

        try:
            trainer = prepare(self.request)
            self.started_run.emit("; ".join([describe(trainer), *self.request.notes]))
            for p in trainer.iter_train(self.cancel):
                self.progress.emit(p)
            report.write_curves(trainer.folder() / "training.png", trainer.card()["history"],
                                f"{trainer.config.name}: {', '.join(trainer.config.stems)}")
        except Cancelled:
            self.cancelled.emit()
            return
        except StemsplitError as exc:
            self.failed.emit(str(exc))
            return
        except MemoryError:
            self.failed.emit("Not enough memory to train on these tracks; use fewer or "
                             "shorter ones, or a smaller batch.")
            return
        except Exception as exc:  # never let a bug take the window down
            log.error("training failed:\n%s", traceback.format_exc())
            self.failed.emit(f"Training failed: {exc}")
            return
        self.succeeded.emit(self.request.name)
