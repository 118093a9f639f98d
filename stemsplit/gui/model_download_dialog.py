"""A dialog that offers to download a model, shows size and speed, and can be cancelled.

The install (download, SHA-256 check, conversion) runs in ``model_store`` on a
QThread; the dialog only shows its progress records. It imports nothing heavy
(no torch), so opening it is instant.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

_STAGES = {"verify": "Checking the download (SHA-256)…", "extract": "Unpacking…",
           "convert": "Converting the weights (once)…"}


def format_size(n: float) -> str:
    """Bytes as a short human string (decimal units, as browsers show downloads)."""
    for unit in ("B", "KB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.2f} GB"


class InstallThread(QThread):
    """Runs ``model_store.install`` off the GUI thread; reports through queued signals."""

    progressed = Signal(object)  # model_store.InstallProgress
    succeeded = Signal(str)      # the installed folder
    failed = Signal(str)         # a message for the user
    cancelled = Signal()

    def __init__(self, archive: str, source: Path | None = None, parent=None) -> None:
        super().__init__(parent)
        self.archive = archive
        self.source = source
        self.cancel = threading.Event()

    def run(self) -> None:
        from stemsplit.core import model_store
        from stemsplit.core.errors import Cancelled, StemsplitError

        try:
            folder = model_store.install(self.archive, source=self.source,
                                         progress=self.progressed.emit, cancel=self.cancel)
        except Cancelled:
            self.cancelled.emit()
        except StemsplitError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug must not leave the dialog waiting forever
            self.failed.emit(f"The install failed unexpectedly: {exc}")
        else:
            self.succeeded.emit(str(folder))


class ModelDownloadDialog(QDialog):
    """Offer, run and report the install of one downloadable model.

    Signals:
        installed(name): the model is ready; the dialog then closes with Accepted.
    """

    installed = Signal(str)

    def __init__(self, model: str, title: str | None = None, size_mb: int | None = None,
                 archive: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.archive = archive or model
        self.thread: InstallThread | None = None
        self._busy = False  # from start() until the thread's last signal is handled
        self._closing = False
        self.setWindowTitle(f"Download {model}")
        self.setMinimumWidth(460)

        size = f" (about {size_mb} MB)" if size_mb else ""
        self.heading = QLabel(f"<b>{title or model}</b> is not installed yet.")
        self.heading.setWordWrap(True)
        self.explain = QLabel(
            f"Download it{size} from Deezer's Spleeter releases (MIT licence)? It is checked, "
            "converted once, and then works offline.")
        self.explain.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setValue(0)
        self.detail = QLabel("")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)

        self.download_button = QPushButton("Download")
        self.download_button.setDefault(True)
        self.download_button.clicked.connect(lambda: self.start())
        self.from_file_button = QPushButton("Install from file…")
        self.from_file_button.setToolTip(f"Use a {self.archive}.tar.gz downloaded elsewhere")
        self.from_file_button.clicked.connect(self._pick_file)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)

        buttons = QHBoxLayout()
        buttons.addWidget(self.from_file_button)
        buttons.addStretch(1)
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        for widget in (self.heading, self.explain, self.bar, self.detail, self.message):
            layout.addWidget(widget)
        layout.addLayout(buttons)

    # -- running --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        # Not QThread.isRunning(): the thread may still be returning from run() after
        # its last signal, and the user must be able to close the dialog by then.
        return self._busy

    def start(self, source: Path | None = None) -> None:
        """Begin the download (or the install from ``source``)."""
        if self.running:
            return
        self.message.setText("")
        self.detail.setText("Connecting…" if source is None else "Reading the file…")
        self.bar.setRange(0, 0)  # busy until the size is known
        self.download_button.setEnabled(False)
        self.from_file_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        thread = InstallThread(self.archive, source, self)
        thread.progressed.connect(self._on_progress)
        thread.succeeded.connect(self._on_succeeded)
        thread.failed.connect(self._on_failed)
        thread.cancelled.connect(self._on_cancelled)
        self.thread = thread
        self._busy = True
        thread.start()

    def install_from_file(self, path: Path) -> None:
        """Install from an archive the user downloaded elsewhere."""
        self.start(Path(path))

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, f"Choose {self.archive}.tar.gz", "", "Model archives (*.tar.gz);;All files (*)")
        if path:
            self.install_from_file(Path(path))

    def _on_progress(self, report) -> None:
        if report.stage == "download":
            speed = f" — {format_size(report.speed_bps)}/s" if report.speed_bps else ""
            if report.total:
                self.bar.setRange(0, 1000)
                self.bar.setValue(int(1000 * report.done / report.total))
                self.detail.setText(f"{format_size(report.done)} of "
                                    f"{format_size(report.total)}{speed}")
            else:
                self.detail.setText(f"{format_size(report.done)}{speed}")
        else:
            self.bar.setRange(0, 0)
            self.detail.setText(_STAGES.get(report.stage, report.stage))

    def _on_succeeded(self, folder: str) -> None:
        self._busy = False
        self.bar.setRange(0, 1000)
        self.bar.setValue(1000)
        self.detail.setText(f"Installed in {folder}")
        self.installed.emit(self.model)
        self.accept()

    def _on_failed(self, message: str) -> None:
        self._busy = False
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.detail.setText("")
        self.message.setText(message)
        self.download_button.setText("Retry")
        self.download_button.setEnabled(True)
        self.from_file_button.setEnabled(True)
        self.cancel_button.setText("Close")
        if self._closing:
            super().reject()

    def _on_cancelled(self) -> None:
        self._busy = False
        super().reject()

    def reject(self) -> None:
        """Cancel a running install first; the dialog closes when the thread has stopped."""
        if self.running:
            self._closing = True
            self.thread.cancel.set()
            self.cancel_button.setEnabled(False)
            self.detail.setText("Cancelling…")
            return
        super().reject()

    def done(self, result: int) -> None:
        if self.thread is not None:
            self.thread.wait()  # never destroy a QThread that still runs
        super().done(result)


def offer_download(window, choice, on_installed) -> ModelDownloadDialog:
    """Ask to download ``choice`` (a not-installed ModelChoice) for ``window``.

    ``on_installed(name)`` runs once it is installed; if the user declines, the
    window's model list goes back to the model in use, not the refused one.
    """
    dialog = ModelDownloadDialog(choice.name, choice.title, choice.download_mb,
                                 choice.archive, window)
    dialog.installed.connect(on_installed)
    dialog.rejected.connect(lambda: window.run_panel.set_models(window.session.models,
                                                                window.session.model_name))
    dialog.open()
    return dialog
