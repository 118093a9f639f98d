"""What the download dialog says: sizes, why a download failed, and what to do instead
(rich text, in the dialog's own words: its buttons, not the command line's options)."""

from __future__ import annotations

import html
import urllib.error
from collections.abc import Sequence


def format_size(n: float) -> str:
    """Bytes as a short human string (decimal units, as browsers show downloads)."""
    for unit in ("B", "KB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.2f} GB"


def network_reason(exc: BaseException) -> str:
    """Why a download failed, in a few words ("Connection refused", "HTTP 404 Not Found")."""
    cause = exc.__cause__
    if isinstance(cause, urllib.error.HTTPError):
        return f"HTTP {cause.code} {cause.reason}"
    if isinstance(cause, urllib.error.URLError):
        cause = cause.reason  # an OSError, or a string
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(cause) if cause else "the connection broke off"


def _elsewhere(files: int, archive: bool) -> str:
    """"Or download ... and choose it with Install from file…" (rich text)."""
    if files > 1:
        what, button = f"the {files} files below", "Install&nbsp;from&nbsp;files…"
    else:
        what = "the archive below" if archive else "the file below"
        button = "Install&nbsp;from&nbsp;file…"
    return (f"Or download {what} in a browser or on another computer and choose "
            f"{'them' if files > 1 else 'it'} with <b>{button}</b> (bottom left):")


def offline_text(reason: str, files: int = 1, archive: bool = True) -> str:
    """The dialog's words when the network failed (rich text; the URLs are shown below it).

    Args:
        files: how many files the model needs (a bag of HT-Demucs models: several).
        archive: whether the one file is an archive (Spleeter) or a checkpoint.
    """
    return (f"<b>The download did not work</b> ({html.escape(reason)}).<br>"
            "Check the internet connection and press <b>Retry</b>; a download resumes "
            f"where it stopped.<br><br>{_elsewhere(files, archive)}")


def not_a_model_text(host: str, files: int = 1, archive: bool = True) -> str:
    """The server answered, but not with a model (a web page, a proxy's or portal's page)."""
    return (f"<b>The server {html.escape(host)} answered, but not with a model</b> (it "
            "sent something else, such as a web page or an error).<br>Check the address "
            "(a proxy or a sign-in page may be in the way), or press <b>Retry</b> later."
            f"<br><br>{_elsewhere(files, archive)}")


def incomplete_bag_text(name: str, files: Sequence[str]) -> str:
    """One file chosen for a model of several: say it in the dialog's own words."""
    every = "both" if len(files) == 2 else f"all {len(files)}"
    return (f"<b>{html.escape(name)} needs {every} of its files</b>, and one was "
            f"chosen.<br>Choose <b>Install from files… › Choose the {len(files)} Files…</b> "
            "and select them together, or <b>Choose the Folder That Holds Them…</b>: "
            f"{html.escape(', '.join(files))}.")


def window_words(model: str, exc: BaseException) -> str:
    """An install error as the dialog says it (rich text)."""
    if model_family(model) == "htdemucs":
        from stemsplit.core.models.htdemucs.store import IncompleteBag  # imported by the install

        if isinstance(exc, IncompleteBag):
            return incomplete_bag_text(exc.name, exc.files)
    message = str(exc)
    return html.escape(message[:1].upper() + message[1:])


def model_family(model: str) -> str:
    from stemsplit.core.models import install as model_install

    return model_install.download_offer(model).family
