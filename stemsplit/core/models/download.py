"""One file over HTTP(S) into a ``.part`` file: resumable, with progress and cancel.

Both model stores (Spleeter archives in ``model_store``, HT-Demucs checkpoints in
``htdemucs.store``) download through :func:`fetch`; they differ only in which
URL goes into which part file and what the user is told to do when it fails.
"""

from __future__ import annotations

import errno
import http.client
import os
import ssl
import stat
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from stemsplit.core.audio.disk import file_in_the_way
from stemsplit.core.errors import Cancelled, ModelError
from stemsplit.core.models.cancel_watch import CancelWatch, opener

CHUNK = 1 << 16
TIMEOUT_S = 30.0
REPORT_EVERY_S = 0.1

# done bytes (a resumed part included), total bytes or None, this session's bytes per second
BytesFn = Callable[[int, "int | None", float], None]


class DownloadError(ModelError):
    """The network failed; the message says how to retry or install from a file."""


class NotAModel(DownloadError):
    """The server answered, but with something that is not what a model release holds
    (a web page, a proxy's or captive portal's answer, an error document)."""

    def __init__(self, url: str, what: str, detail: str, hint: str) -> None:
        self.url = url
        self.host = urllib.parse.urlsplit(url).hostname or url
        super().__init__(f"{self.host} answered {url} with something that is not {what} "
                         f"({detail}); check the address, or try again later. {hint}")


def _ssl_context() -> ssl.SSLContext:
    # Frozen apps and python.org's macOS builds may lack system CA certificates;
    # certifi's bundle, where installed, makes HTTPS work there too.
    try:
        import certifi
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def folder_error(folder: Path, exc: OSError) -> ModelError:
    """The model folder cannot be made or written: name a file standing in its way."""
    blocker = file_in_the_way(folder)
    if blocker is not None:
        return ModelError(f"cannot write to the model folder {folder}: {blocker} is a file, "
                          "not a folder; move that file away (or point STEMSPLIT_HOME at "
                          "another folder)")
    return ModelError(f"cannot write to the model folder {folder}: {exc.strerror or exc}")


def open_url(url: str, headers: dict[str, str] | None = None, timeout: float = TIMEOUT_S,
             watch: CancelWatch | None = None):
    """``urlopen`` for http(s) only, with our User-Agent and a CA bundle that works frozen.

    With ``watch``, setting its cancel event shuts the connection down at once, so a
    server that never answers does not hold a cancel for ``timeout`` seconds.
    """
    if not url.startswith(("https://", "http://")):
        raise DownloadError(f"a model download URL must be http(s), not {url!r}")
    request = urllib.request.Request(url, headers={"User-Agent": "stemsplit", **(headers or {})})
    context = _ssl_context() if url.startswith("https://") else None
    if watch is None:
        return urllib.request.urlopen(request, timeout=timeout, context=context)
    return opener(watch, context).open(request, timeout=timeout)


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise Cancelled if ``cancel`` is set (a network error after it is the cancel's doing)."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("download cancelled")


def reason(exc: BaseException) -> str:
    """A network error in a few words ("HTTP 404 Not Found", "[Errno 111] ...")."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _range_start(response) -> int | None:
    value = response.headers.get("Content-Range", "")  # "bytes 100-199/200"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _part_size(part: Path) -> int:
    """Bytes an earlier try left in ``part``; anything but a regular file there is cleared.

    The cache is ours: a symlink planted there must not make the download append to
    the file it points at (the link itself is removed), and a folder (or a FIFO)
    where the part should be would fail every try; an empty folder is removed, a
    full one is named in the error.
    """
    try:
        info = os.lstat(part)
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise ModelError(f"cannot use the download cache {part.parent}: {exc}") from exc
    if stat.S_ISREG(info.st_mode):
        return info.st_size
    if stat.S_ISDIR(info.st_mode):
        try:
            part.rmdir()
        except OSError:
            raise ModelError(f"{part} is a folder where stemsplit keeps an unfinished "
                             "download; move or delete it, then try again") from None
        return 0
    try:
        part.unlink()  # a symlink, FIFO or socket: never ours, never followed
    except OSError as exc:
        raise ModelError(f"cannot use the download cache {part.parent}: {exc}") from exc
    return 0


def _open_part(part: Path, append: bool):
    """Open the part for writing without following a link (a race after the check)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC) \
        | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(part, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ModelError(f"{part} is a symbolic link; stemsplit does not write through "
                             "links in its download cache") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ModelError(f"{part} is not a regular file; move or delete it, then try again")
    return os.fdopen(fd, "ab" if append else "wb")


def fetch(url: str, part: Path, hint: str, progress: BytesFn | None = None,
          cancel: threading.Event | None = None, max_bytes: int | None = None) -> Path:
    """Download ``url`` into ``part``, resuming what an earlier try left there.

    Args:
        hint: what the user can do about a network failure; ends every DownloadError.
        progress: ``progress(done, total, speed_bps)``, about every 0.1 s and at the end.
        max_bytes: refuse a download larger than this (what the registry allows).

    Returns:
        ``part``, complete (not verified: that is the caller's business).

    Raises:
        DownloadError: network failure; the part stays for the next try.
        Cancelled: ``cancel`` was set; the part is deleted.
        ModelError: the part's folder cannot be written, something other than a
            file sits where the part goes, or the server sends more than ``max_bytes``.
    """
    try:
        part.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise folder_error(part.parent, exc) from exc
    have = _part_size(part)
    if max_bytes is not None and have > max_bytes:
        part.unlink(missing_ok=True)
        have = 0
    with CancelWatch(cancel) as watch:
        try:
            return _fetch(url, part, hint, progress, cancel, max_bytes, have, watch)
        except Cancelled:
            part.unlink(missing_ok=True)
            raise


def _fetch(url: str, part: Path, hint: str, progress: BytesFn | None,
           cancel: threading.Event | None, max_bytes: int | None, have: int,
           watch: CancelWatch) -> Path:
    try:
        response = open_url(url, {"Range": f"bytes={have}-"} if have else {}, watch=watch)
    except urllib.error.HTTPError as exc:
        check_cancel(cancel)
        if exc.code == 416 and have:  # our part is already complete (or stale): start over
            part.unlink(missing_ok=True)
            return _fetch(url, part, hint, progress, cancel, max_bytes, 0, watch)
        raise DownloadError(f"could not download {url}: {reason(exc)}. {hint}") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        check_cancel(cancel)  # the watch shut the connection down: not a network failure
        raise DownloadError(f"could not download {url}: {reason(exc)}. {hint}") from exc
    with response:
        kind = response.headers.get("Content-Type", "")
        if kind.lower().startswith("text/html"):  # a proxy's or sign-in page, not a model
            raise NotAModel(url, "a model file", f"a web page, {kind}", hint)
        resumed = response.status == 206 and _range_start(response) == have
        if not resumed:
            have = 0  # the server ignored the Range header: restart cleanly
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        too_big = ModelError(f"{url} is larger than the model it should be "
                             f"({_mb(max_bytes or 0)} at most); nothing was installed")
        if max_bytes is not None and total is not None and total > max_bytes:
            part.unlink(missing_ok=True)
            raise too_big
        done, started, last_report = have, time.monotonic(), 0.0
        try:
            with _open_part(part, resumed) as fh:
                while True:
                    check_cancel(cancel)
                    block = response.read(CHUNK)
                    if not block:
                        break
                    fh.write(block)
                    done += len(block)
                    if max_bytes is not None and done > max_bytes:
                        raise too_big
                    now = time.monotonic()
                    if progress is not None and (now - last_report >= REPORT_EVERY_S
                                                 or done == total):
                        last_report = now
                        progress(done, total, (done - have) / max(now - started, 1e-6))
                check_cancel(cancel)  # a shut-down connection ends like a finished one
        except (Cancelled, ModelError) as exc:
            if not isinstance(exc, DownloadError):
                part.unlink(missing_ok=True)
            raise
        except (OSError, http.client.HTTPException) as exc:
            if cancel is not None and cancel.is_set():
                part.unlink(missing_ok=True)
                raise Cancelled("download cancelled") from None
            raise DownloadError(f"the download of {url} broke off at {_mb(done)}: {exc}. "
                                f"{hint}") from exc
    if total is not None and done < total:
        raise DownloadError(f"the download of {url} broke off at {_mb(done)} of {_mb(total)}. "
                            f"{hint}")
    return part
