"""One file over HTTP(S) into a ``.part`` file: resumable, with progress and cancel.

Both model stores (Spleeter archives in ``model_store``, HT-Demucs checkpoints in
``htdemucs.store``) download through :func:`fetch`; they differ only in which
URL goes into which part file and what the user is told to do when it fails.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from stemsplit.core.errors import Cancelled, ModelError

CHUNK = 1 << 16
TIMEOUT_S = 30.0
REPORT_EVERY_S = 0.1

# done bytes (a resumed part included), total bytes or None, this session's bytes per second
BytesFn = Callable[[int, "int | None", float], None]


class DownloadError(ModelError):
    """The network failed; the message says how to retry or install from a file."""


def _ssl_context() -> ssl.SSLContext:
    # Frozen apps and python.org's macOS builds may lack system CA certificates;
    # certifi's bundle, where installed, makes HTTPS work there too.
    try:
        import certifi
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def open_url(url: str, headers: dict[str, str] | None = None, timeout: float = TIMEOUT_S):
    """``urlopen`` for http(s) only, with our User-Agent and a CA bundle that works frozen."""
    if not url.startswith(("https://", "http://")):
        raise DownloadError(f"a model download URL must be http(s), not {url!r}")
    request = urllib.request.Request(url, headers={"User-Agent": "stemsplit", **(headers or {})})
    context = _ssl_context() if url.startswith("https://") else None
    return urllib.request.urlopen(request, timeout=timeout, context=context)


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


def fetch(url: str, part: Path, hint: str, progress: BytesFn | None = None,
          cancel: threading.Event | None = None) -> Path:
    """Download ``url`` into ``part``, resuming what an earlier try left there.

    Args:
        hint: what the user can do about a network failure; ends every DownloadError.
        progress: ``progress(done, total, speed_bps)``, about every 0.1 s and at the end.

    Returns:
        ``part``, complete (not verified: that is the caller's business).

    Raises:
        DownloadError: network failure; the part stays for the next try.
        Cancelled: ``cancel`` was set; the part is deleted.
        ModelError: the part's folder cannot be written.
    """
    try:
        part.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot write to the model folder {part.parent}: {exc}") from exc
    have = part.stat().st_size if part.is_file() else 0
    try:
        response = open_url(url, {"Range": f"bytes={have}-"} if have else {})
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # our part is already complete (or stale): start over
            part.unlink(missing_ok=True)
            return fetch(url, part, hint, progress, cancel)
        raise DownloadError(f"could not download {url}: {reason(exc)}. {hint}") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise DownloadError(f"could not download {url}: {reason(exc)}. {hint}") from exc
    with response:
        resumed = response.status == 206 and _range_start(response) == have
        if not resumed:
            have = 0  # the server ignored the Range header: restart cleanly
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        done, started, last_report = have, time.monotonic(), 0.0
        try:
            with open(part, "ab" if resumed else "wb") as fh:
                while True:
                    if cancel is not None and cancel.is_set():
                        raise Cancelled("download cancelled")
                    block = response.read(CHUNK)
                    if not block:
                        break
                    fh.write(block)
                    done += len(block)
                    now = time.monotonic()
                    if progress is not None and (now - last_report >= REPORT_EVERY_S
                                                 or done == total):
                        last_report = now
                        progress(done, total, (done - have) / max(now - started, 1e-6))
        except Cancelled:
            part.unlink(missing_ok=True)
            raise
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(f"the download of {url} broke off at {_mb(done)}: {exc}. "
                                f"{hint}") from exc
    if total is not None and done < total:
        raise DownloadError(f"the download of {url} broke off at {_mb(done)} of {_mb(total)}. "
                            f"{hint}")
    return part
