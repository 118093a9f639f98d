"""Cancel reaches a download whose server accepts the connection and then never answers
(before this, the cancel waited out the 30-s socket timeout). Real sockets on 127.0.0.1."""

from __future__ import annotations

import threading
import time

import pytest

from stemsplit.core.errors import Cancelled
from stemsplit.core.models import download
from stemsplit.core.models import store as model_store
from tests._model_archives import silent_server

BOUND_S = 5.0  # a behaviour bound (the old code took ~30 s), not a speed figure


def _cancel_after(cancel: threading.Event, delay: float) -> threading.Timer:
    timer = threading.Timer(delay, cancel.set)
    timer.start()
    return timer


def _nothing_left(name: str) -> None:
    assert not model_store.is_installed(name)
    assert not model_store.model_dir(name).exists()
    assert not model_store.partial_path(name).exists()
    assert list(model_store.models_dir().glob(".install-*")) == []


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_cancel_while_the_server_never_answers_the_checksum(monkeypatch, scheme):
    """https: the TLS handshake itself waits on the silent server."""
    with silent_server() as url:
        monkeypatch.setenv(model_store.BASE_URL_ENV, url.replace("http", scheme, 1))
        cancel = threading.Event()
        timer = _cancel_after(cancel, 0.5)
        started = time.monotonic()
        with pytest.raises(Cancelled):
            model_store.install("4stems", cancel=cancel)
        took = time.monotonic() - started - 0.5
        timer.join()
    assert took < BOUND_S, f"cancel took {took:.1f} s"
    _nothing_left("4stems")


@pytest.mark.parametrize("answer", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
                                        + b"x" * 1000], ids=["no-headers", "mid-body"])
def test_cancel_while_the_archive_server_goes_silent(monkeypatch, answer):
    """Silent before the headers, or after the first bytes of the body."""
    with silent_server(answer) as url:
        monkeypatch.setenv(model_store.BASE_URL_ENV, url)
        cancel = threading.Event()
        timer = _cancel_after(cancel, 0.5)
        started = time.monotonic()
        with pytest.raises(Cancelled):
            model_store.install("4stems", cancel=cancel, expected_sha256="0" * 64)
        took = time.monotonic() - started - 0.5
        timer.join()
    assert took < BOUND_S, f"cancel took {took:.1f} s"
    _nothing_left("4stems")


def test_a_silent_server_without_cancel_still_times_out(monkeypatch):
    """The watch changes nothing for a caller with no cancel: the socket timeout holds."""
    with silent_server() as url, pytest.raises(TimeoutError):
        download.open_url(url + "x", timeout=0.5).read()


def test_the_watch_thread_ends_with_the_download(monkeypatch):
    with silent_server() as url:
        monkeypatch.setenv(model_store.BASE_URL_ENV, url)
        cancel = threading.Event()
        timer = _cancel_after(cancel, 0.3)
        with pytest.raises(Cancelled):
            model_store.download("4stems", cancel=cancel)
        timer.join()
    assert not [t for t in threading.enumerate() if t.name == "download-cancel"]
