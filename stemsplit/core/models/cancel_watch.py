"""Cancel a blocked HTTP(S) request from outside: shut its socket down when asked.

A server that accepts and then never answers leaves ``urlopen`` (or a read) blocked
in ``recv`` until the socket timeout; checking a cancel flag between reads cannot
help then. A :class:`CancelWatch` keeps a duplicate of each socket the request
opens and, from its own small thread, shuts the connection down as soon as the
cancel event is set: the blocked call returns at once (an EOF or an error) and
the caller, seeing the event set, raises ``Cancelled``. Shutting down acts on the
connection, not the descriptor, so the duplicate reaches the socket that TLS
wraps too (and a connect still under way).
"""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.request

POLL_S = 0.05  # how often the watch looks at the cancel event: cancel takes effect this fast


class CancelWatch:
    """Shut down every socket registered with it once ``cancel`` is set; close() when done."""

    def __init__(self, cancel: threading.Event | None) -> None:
        self._cancel = cancel
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._shut = False
        self._thread: threading.Thread | None = None
        if cancel is not None:
            self._thread = threading.Thread(target=self._run, name="download-cancel",
                                            daemon=True)
            self._thread.start()

    @property
    def cancelled(self) -> bool:
        return self._cancel is not None and self._cancel.is_set()

    def add(self, sock: socket.socket) -> None:
        if self._cancel is None:
            return
        dup = sock.dup()
        with self._lock:
            self._socks.append(dup)
            shut = self._shut
        if shut:  # cancelled before this socket existed
            _shutdown(dup)

    def _run(self) -> None:
        assert self._cancel is not None
        while not self._done.wait(POLL_S):
            if self._cancel.is_set():
                with self._lock:
                    self._shut = True
                    socks = list(self._socks)
                for sock in socks:
                    _shutdown(sock)
                return

    def close(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            for sock in self._socks:
                sock.close()
            self._socks.clear()

    def __enter__(self) -> CancelWatch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # not connected yet, or already closed: nothing to wake


def _connect(watch: CancelWatch, address, timeout, source_address):
    """``socket.create_connection``, with each socket watched before it connects (a
    server that never completes the handshake is cancelled too)."""
    host, port = address
    error: OSError | None = None
    for family, kind, proto, _, where in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            watch.add(sock)
            if watch.cancelled:
                raise OSError("cancelled")
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(where)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
            if watch.cancelled:
                break
    raise error or OSError(f"cannot resolve {host}")


def _watched(cls, watch: CancelWatch):
    """A connection class whose sockets ``watch`` can shut down."""
    def make(*args, **kwargs):
        conn = cls(*args, **kwargs)
        conn._create_connection = lambda address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, \
            source_address=None: _connect(watch, address, timeout, source_address)
        return conn
    return make


class _HTTP(urllib.request.HTTPHandler):
    def __init__(self, watch: CancelWatch) -> None:
        super().__init__()
        self._watch = watch

    def http_open(self, req):
        return self.do_open(_watched(http.client.HTTPConnection, self._watch), req)


class _HTTPS(urllib.request.HTTPSHandler):
    def __init__(self, watch: CancelWatch, context) -> None:
        super().__init__(context=context)
        self._watch = watch

    def https_open(self, req):
        extra = {"check_hostname": self._check_hostname} \
            if hasattr(self, "_check_hostname") else {}  # Python < 3.12 passes it
        return self.do_open(_watched(http.client.HTTPSConnection, self._watch), req,
                            context=self._context, **extra)


def opener(watch: CancelWatch, context) -> urllib.request.OpenerDirector:
    """An opener (redirects followed as urlopen does) whose connections ``watch`` guards."""
    return urllib.request.build_opener(_HTTP(watch), _HTTPS(watch, context))
