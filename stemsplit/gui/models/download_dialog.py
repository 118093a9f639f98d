"""A dialog that offers to download a model, shows size and speed, and can be cancelled.

The install (download, SHA-256 check, conversion) runs in ``core.model_install``
on a QThread, for every model family; the dialog only shows its progress
records. Weights with licence terms (HT-Demucs) show them first, and Download
and Install from file stay disabled until the user ticks "I accept these
terms". The model's facts come from ``model_install.download_offer``, whose
imports the window's engine probe has already made by the time a user picks a
model.
"""

from __future__ import annotations

import html
import threading
from pathlib import Path

from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from stemsplit.gui.models.copyable_links import CopyableLinks
from stemsplit.gui.models.download_words import (  # noqa: F401 (format_size: re-exported)
    format_size,
    network_reason,
    not_a_model_text,
    offline_text,
    window_words,
)
from stemsplit.gui.models.licence_box import LicenceBox

_STAGES = {"verify": "Checking the download (SHA-256)…", "extract": "Unpacking…",
           "convert": "Converting the weights (once)…"}


class InstallThread(QThread):
    """Runs ``model_install.install`` off the GUI thread; reports through queued signals."""

    progressed = Signal(object)  # model_store.InstallProgress
    succeeded = Signal(str)      # the installed folder
    failed = Signal(str, object)  # a message for the user; the URLs to fetch if offline
    licenceNeeded = Signal(str)  # the terms still to accept (they were not accepted)
    cancelled = Signal()

    def __init__(self, model: str, source: Path | list[Path] | None = None,
                 accept_licence: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.source = source
        self.accept_licence = accept_licence
        self.cancel = threading.Event()

    def run(self) -> None:
        from stemsplit.core.errors import Cancelled, StemsplitError
        from stemsplit.core.models import install as model_install
        from stemsplit.core.models.download import DownloadError, NotAModel
        from stemsplit.core.models.licences import LicenceNotAccepted

        try:
            folder = model_install.install(self.model, source=self.source,
                                           progress=self.progressed.emit, cancel=self.cancel,
                                           accept_licence=self.accept_licence)
        except Cancelled:
            self.cancelled.emit()
        except LicenceNotAccepted:
            self.licenceNeeded.emit(model_install.needs_licence_acceptance(self.model) or "")
        except NotAModel as exc:
            offer = model_install.download_offer(self.model)
            self.failed.emit(not_a_model_text(exc.host, len(offer.files),
                                              offer.family == "spleeter"), list(offer.urls))
        except DownloadError as exc:
            offer = model_install.download_offer(self.model)
            self.failed.emit(offline_text(network_reason(exc), len(offer.files),
                                          offer.family == "spleeter"), list(offer.urls))
        except StemsplitError as exc:
            self.failed.emit(window_words(self.model, exc), [])
        except Exception as exc:  # a bug must not leave the dialog waiting forever
            self.failed.emit(html.escape(f"The install failed unexpectedly: {exc}"), [])
        else:
            self.succeeded.emit(str(folder))


class ModelDownloadDialog(QDialog):
    """Offer, run and report the install of one downloadable model.

    Signals:
        installed(name): the model is ready; the dialog then closes with Accepted.
    """

    installed = Signal(str)

    def __init__(self, model: str, title: str | None = None, size_mb: int | None = None,
                 parent=None) -> None:
        from stemsplit.core.models import install as model_install

        super().__init__(parent)
        self.model = model
        self.offer = model_install.download_offer(model)
        self.thread: InstallThread | None = None
        self._busy = False  # from start() until the thread's last signal is handled
        self._closing = False
        self._terms = self.offer.terms  # terms still to accept before anything is fetched
        self.setWindowTitle(f"Download {model}")
        self.setMinimumWidth(460)

        size_mb = size_mb or self.offer.download_mb
        size = f" (about {size_mb} MB)" if size_mb else ""
        self.heading = QLabel(f"<b>{html.escape(title or model)}</b> is not installed yet.")
        self.heading.setWordWrap(True)
        if self.offer.family == "spleeter":
            where = "Deezer's Spleeter releases (MIT licence)"
            licence = ""
        else:
            where = self.offer.publisher
            licence = f" Licence: {self.offer.licence}" + (
                "." if self._terms else " (you accepted its terms before).")
        self.explain = QLabel(f"Download it{size} from {where}? It is checked, converted once, "
                              f"and then works offline.{licence}")
        self.explain.setWordWrap(True)
        self.licence = LicenceBox()
        self.licence.acceptedChanged.connect(lambda _: self._update_buttons())
        if self._terms:
            self.licence.set_terms(self._terms)
        self.licence.setVisible(bool(self._terms))
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setValue(0)
        self.detail = QLabel("")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.RichText)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        # The files to fetch elsewhere: one line each, selectable and copyable, never cut.
        self.url_box = CopyableLinks()
        self.url_box.setVisible(False)

        self.download_button = QPushButton("Download")
        self.download_button.setDefault(True)
        self.download_button.clicked.connect(lambda: self.start())
        self.from_file_button = self._from_file_button()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)

        buttons = QHBoxLayout()
        buttons.addWidget(self.from_file_button)
        buttons.addStretch(1)
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        for widget in (self.heading, self.explain, self.licence, self.bar, self.detail,
                       self.message, self.url_box):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        self._update_buttons()

    def _from_file_button(self) -> QPushButton:
        files = self.offer.files
        if not self.offer.is_bag:
            button = QPushButton("Install from file…")
            button.setToolTip(f"Use a {files[0]} downloaded elsewhere")
            button.clicked.connect(self._pick_file)
            return button
        # A bag: its files, chosen together, or the folder they were saved in.
        button = QPushButton("Install from files…")
        button.setToolTip(f"Use the {len(files)} files downloaded elsewhere: {', '.join(files)}")
        menu = QMenu(button)
        menu.addAction(f"Choose the {len(files)} Files…", self._pick_files)
        menu.addAction("Choose the Folder That Holds Them…", self._pick_folder)
        button.setMenu(menu)
        return button

    @property
    def url_field(self) -> QLineEdit | None:
        """The first (for most models the only) file to fetch elsewhere."""
        return self.url_box.fields[0] if self.url_box.fields else None

    @property
    def copy_button(self) -> QPushButton:
        return self.url_box.copy_button

    def _update_buttons(self) -> None:
        """Download and Install from file wait for the terms to be accepted."""
        ready = not self.running and (not self._terms or self.licence.accepted)
        self.download_button.setEnabled(ready)
        self.from_file_button.setEnabled(ready)
        self.licence.setEnabled(not self.running)

    # -- running --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        # Not QThread.isRunning(): the thread may still be returning from run() after
        # its last signal, and the user must be able to close the dialog by then.
        return self._busy

    def start(self, source: Path | list[Path] | None = None) -> None:
        """Begin the download (or the install from ``source``), once terms are accepted."""
        if self.running:
            return
        if self._terms and not self.licence.accepted:
            self.licence.checkbox.setFocus()
            return
        self.message.setText("")
        self.url_box.setVisible(False)
        self.bar.setVisible(True)
        self.detail.setVisible(True)
        self.detail.setText("Connecting…" if source is None else "Reading the file…")
        self.bar.setRange(0, 0)  # busy until the size is known
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        thread = InstallThread(self.model, source, bool(self._terms), self)
        thread.progressed.connect(self._on_progress)
        thread.succeeded.connect(self._on_succeeded)
        thread.failed.connect(self._on_failed)
        thread.licenceNeeded.connect(self._on_licence_needed)
        thread.cancelled.connect(self._on_cancelled)
        self.thread = thread
        self._busy = True
        self._update_buttons()
        thread.start()

    def install_from_file(self, path: Path | list[Path]) -> None:
        """Install from what the user downloaded elsewhere: a file, a bag's folder or files."""
        self.start([Path(p) for p in path] if isinstance(path, (list, tuple)) else Path(path))

    def _pick_file(self) -> None:
        name = self.offer.files[0]
        kind = ("Model archives (*.tar.gz)" if self.offer.family == "spleeter"
                else "Demucs checkpoints (*.th)")
        path, _ = QFileDialog.getOpenFileName(self, f"Choose {name}", "",
                                              f"{kind};;All files (*)")
        if path:
            self.install_from_file(Path(path))

    def _pick_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, f"Choose the {len(self.offer.files)} files of {self.model}", "",
            ("RoFormer checkpoint and config (*.ckpt *.yaml *.yml)"
             if self.offer.family == "roformer" else "Demucs checkpoints (*.th)")
            + ";;All files (*)")
        if paths:
            self.install_from_file([Path(p) for p in paths])

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, f"Choose the folder holding {', '.join(self.offer.files)}")
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

    def _on_failed(self, message: str, urls: list[str] = ()) -> None:
        self._busy = False
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.detail.setText("")
        self.message.setText(message)
        self.bar.setVisible(False)  # an empty bar and line say nothing after a failure
        self.detail.setVisible(False)
        self.url_box.set_urls(list(urls))
        self.download_button.setText("Retry")
        self.cancel_button.setText("Close")
        self._update_buttons()
        self._fit()

    def _on_licence_needed(self, terms: str) -> None:
        """The terms were not (or no longer) accepted: show them again, fetch nothing."""
        self._terms = terms or self._terms or self.offer.licence
        self.licence.set_terms(self._terms)
        self.licence.setVisible(True)
        self._on_failed("Please read the licence terms above and tick <b>I accept these "
                        "terms</b> first.")
        self.download_button.setText("Download")

    def _fit(self) -> None:
        """Grow to what the wrapped message needs at the dialog's width: nothing cut off."""
        layout = self.layout()
        layout.activate()
        width = max(self.width(), layout.totalMinimumSize().width())
        height = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else -1
        self.resize(width, max(height, layout.totalSizeHint().height()))
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
    dialog = ModelDownloadDialog(choice.name, choice.title, choice.download_mb, window)
    dialog.installed.connect(on_installed)
    dialog.rejected.connect(lambda: window.run_panel.set_models(window.session.models,
                                                                window.session.model_name))
    dialog.open()
    return dialog
