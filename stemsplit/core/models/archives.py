"""Archive handling that never trusts its input.

- :func:`sha256_file`: the SHA-256 of a regular file (never a FIFO or a device).
- :func:`safe_extract`: a tar archive (gzip, bzip2, xz or none) read as one stream,
  member by member. Every header is checked before its data is read: the path
  must stay inside the folder, the member must be a regular file or folder, and
  its size must fit the :class:`ArchiveLimits` the registry knows for the model.
  While inflating, the bytes written are held to a ratio of the bytes read (a
  few MB of zeros cannot become gigabytes), and the compressed stream is read to
  its very end, so its checksum trailer (gzip's CRC-32) is always verified.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import tarfile
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from stemsplit.core.errors import Cancelled, ModelError
from stemsplit.core.models.safe_files import open_regular

CHUNK = 1 << 16


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.0f} KB"


@dataclass(frozen=True)
class ArchiveLimits:
    """What a genuine archive of one model can hold.

    Attributes:
        member_bytes: the largest file it may unpack (the weights' data shard).
        total_bytes: all files together.
        max_ratio: unpacked bytes per compressed byte, past ``slack_bytes``
            (float weights barely compress; a shard of zeros compresses 1000:1).
        slack_bytes: unpacked bytes allowed whatever the ratio (tar headers and
            padding compress very well in small archives).
        max_members: files and folders together.
        small_members: file-name suffix -> a tighter size limit (``.index``).
    """

    member_bytes: int
    total_bytes: int
    max_ratio: float = 20.0
    slack_bytes: int = 16 << 20
    max_members: int = 64
    small_members: dict[str, int] = field(default_factory=dict)

    def member_limit(self, name: str) -> int:
        for suffix, limit in self.small_members.items():
            if name.endswith(suffix):
                return limit
        return self.member_bytes


def sha256_file(path: Path, cancel: threading.Event | None = None,
                max_bytes: int | None = None) -> str:
    """Hex SHA-256 of a regular file, read in 1 MiB blocks; checks ``cancel`` between blocks.

    Raises:
        ModelError: not a regular file (FIFO, device, folder), or over ``max_bytes``.
        Cancelled: ``cancel`` was set.
    """
    digest = hashlib.sha256()
    with open_regular(path, max_bytes, what="model file") as fh:
        try:
            while block := fh.read(1 << 20):
                if cancel is not None and cancel.is_set():
                    raise Cancelled("install cancelled")
                digest.update(block)
        except OSError as exc:
            raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return digest.hexdigest()


class _Counted:
    """A read-only stream that counts its bytes (the compressed side)."""

    def __init__(self, raw) -> None:
        self.raw = raw
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        return data

    def readable(self) -> bool:
        return True


class _Bounded:
    """The inflated stream, refusing to yield more than the limits allow."""

    def __init__(self, inflated, compressed: _Counted, limits: ArchiveLimits,
                 archive: str) -> None:
        self.inflated = inflated
        self.compressed = compressed
        self.limits = limits
        self.archive = archive
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = CHUNK
        data = self.inflated.read(size)
        self.count += len(data)
        allowed = self.limits.max_ratio * self.compressed.count + self.limits.slack_bytes
        if self.count > self.limits.total_bytes + (1 << 20) or self.count > allowed:
            raise ModelError(f"refusing the archive {self.archive}: {_mb(self.compressed.count)} "
                             f"of it unpack to more than {_mb(self.count)}, far more than a "
                             "model archive does (a decompression bomb?)")
        return data

    def readable(self) -> bool:
        return True


def _decompressor(raw: _Counted, head: bytes):
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if head.startswith(b"BZh"):
        return bz2.BZ2File(raw, mode="rb")
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw, mode="rb")
    return raw  # an uncompressed tar: nothing inflates


class _Peeked:
    """``raw`` with its first bytes (already read to sniff the format) put back."""

    def __init__(self, head: bytes, raw) -> None:
        self.head = head
        self.raw = raw

    def read(self, size: int = -1) -> bytes:
        if self.head:
            if size is None or size < 0:
                data, self.head = self.head + self.raw.read(), b""
                return data
            data, self.head = self.head[:size], self.head[size:]
            if len(data) < size:
                data += self.raw.read(size - len(data))
            return data
        return self.raw.read(size)


def _check_member(member: tarfile.TarInfo, root: Path, archive: str, limits: ArchiveLimits,
                  seen: set[str], total: int) -> None:
    name = member.name
    target = (root / name).resolve()
    if os.path.isabs(name) or not target.is_relative_to(root) or "\x00" in name:
        raise ModelError(f"refusing the archive {archive}: member {name!r} would be written "
                         "outside its folder")
    if not (member.isreg() or member.isdir()) or member.issparse():
        raise ModelError(f"refusing the archive {archive}: member {name!r} is a link or "
                         "special file")
    key = os.path.normpath(name)
    if key in seen:
        raise ModelError(f"refusing the archive {archive}: it holds {name!r} twice")
    seen.add(key)
    if len(seen) > limits.max_members:
        raise ModelError(f"refusing the archive {archive}: it holds more than "
                         f"{limits.max_members} files, far more than a model archive")
    limit = limits.member_limit(name)
    if member.size > limit:
        raise ModelError(f"refusing the archive {archive}: {name} would unpack to "
                         f"{_mb(member.size)}, more than this model's {_mb(limit)}")
    if total + member.size > limits.total_bytes:
        raise ModelError(f"refusing the archive {archive}: it unpacks to more than "
                         f"{_mb(limits.total_bytes)}, more than this model needs")


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, archive: str,
                  cancel: threading.Event | None) -> None:
    source = tar.extractfile(member)
    if source is None:
        raise ModelError(f"the archive {archive} has no data for {member.name}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    with source, os.fdopen(os.open(target, flags, 0o644), "wb") as out:
        left = member.size
        while left > 0:
            if cancel is not None and cancel.is_set():
                raise Cancelled("install cancelled")
            block = source.read(min(CHUNK, left))
            if not block:
                raise EOFError(f"{member.name} is cut short")
            out.write(block)
            left -= len(block)


def safe_extract(archive: Path, dest: Path, limits: ArchiveLimits,
                 cancel: threading.Event | None = None) -> None:
    """Extract a tar archive into ``dest``, member by member, within ``limits``.

    Only regular files and folders are written; an absolute or ``..`` path, a
    link, a device, a member twice, a member or a total over ``limits``, or an
    inflation ratio over ``limits.max_ratio`` stops it. The compressed stream is
    read to its end, so a damaged archive (gzip CRC or length mismatch) is refused
    even when its tar part looks whole. On any error, what was written is removed
    again: a refused archive leaves nothing behind.

    Raises:
        ModelError: not an archive, damaged, unsafe or over a limit.
        Cancelled: ``cancel`` was set.
    """
    created: list[Path] = []
    try:
        _extract(archive, dest, limits, cancel, created)
    except BaseException:
        for path in reversed(created):  # deepest first: files, then their folders
            try:
                path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()
            except OSError:
                pass
        raise


def _mkdirs(folder: Path, created: list[Path]) -> None:
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
        created.append(path)


def _extract(archive: Path, dest: Path, limits: ArchiveLimits, cancel: threading.Event | None,
             created: list[Path]) -> None:
    _mkdirs(dest, created)
    root = dest.resolve()
    name = archive.name
    started = False
    with open_regular(archive, limits.total_bytes, what="model archive") as fh:
        try:
            raw = _Counted(fh)
            head = raw.read(6)
            stream = _Bounded(_decompressor(_Peeked(head, raw), head), raw, limits, name)
            seen: set[str] = set()
            total = 0
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    started = True
                    _check_member(member, root, name, limits, seen, total)
                    total += member.size
                    target = root / member.name
                    if member.isdir():
                        _mkdirs(target, created)
                        continue
                    _mkdirs(target.parent, created)
                    created.append(target)  # O_EXCL: it did not exist before
                    _write_member(tar, member, target, name, cancel)
            while stream.read(CHUNK):  # to the end: the trailer's checksum is verified there
                pass
        except tarfile.ReadError as exc:
            if not started:  # its text lists every codec tried: too much to show
                raise ModelError(f"{name} is not a readable .tar.gz archive (damaged, "
                                 "incomplete or another kind of file)") from exc
            raise ModelError(f"the archive {name} is corrupt or incomplete: {exc}") from exc
        except gzip.BadGzipFile as exc:
            if not started:
                raise ModelError(f"{name} is not a readable .tar.gz archive (damaged, "
                                 "incomplete or another kind of file)") from exc
            raise ModelError(f"the archive {name} is damaged ({exc}); nothing was "
                             "installed") from exc
        except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError,
                ValueError, OverflowError) as exc:
            raise ModelError(f"the archive {name} is corrupt or incomplete: "
                             f"{exc or type(exc).__name__}") from exc

