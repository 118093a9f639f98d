"""Archive handling that never trusts its input: SHA-256 of a file, tar extraction
that refuses any member that could land outside its folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import threading
import zlib
from pathlib import Path

from stemsplit.core.errors import Cancelled, ModelError

CHUNK = 1 << 16
# A Spleeter archive is ~75-200 MB; refuse anything that unpacks to absurd sizes.
MAX_EXTRACTED_BYTES = 4 << 30


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def sha256_file(path: Path, cancel: threading.Event | None = None) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks; checks ``cancel`` between blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            if cancel is not None and cancel.is_set():
                raise Cancelled("install cancelled")
            digest.update(block)
    return digest.hexdigest()


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract a tar archive, refusing any member that could land outside ``dest``.

    Only regular files and folders are written; links, devices and absolute or
    ``..`` paths make the whole archive be rejected before anything is written.

    Raises:
        ModelError: corrupt archive or unsafe member.
    """
    root = dest.resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            total = 0
            for member in members:
                target = (root / member.name).resolve()
                if os.path.isabs(member.name) or not target.is_relative_to(root):
                    raise ModelError(f"refusing the archive {archive.name}: member "
                                     f"{member.name!r} would be written outside its folder")
                if not (member.isfile() or member.isdir()):
                    raise ModelError(f"refusing the archive {archive.name}: member "
                                     f"{member.name!r} is a link or special file")
                total += member.size
            if total > MAX_EXTRACTED_BYTES:
                raise ModelError(f"refusing the archive {archive.name}: it unpacks to "
                                 f"{_mb(total)}")
            for member in members:
                target = root / member.name
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    raise ModelError(f"the archive {archive.name} has no data for {member.name}")
                with source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
    except tarfile.ReadError as exc:  # its text lists every codec tried: too much to show
        raise ModelError(f"{archive.name} is not a readable .tar.gz archive "
                         "(damaged, incomplete or another kind of file)") from exc
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ModelError(f"the archive {archive.name} is corrupt or incomplete: {exc}") from exc
