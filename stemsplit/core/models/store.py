"""Downloaded models: fetch Spleeter's release archives, verify, convert once, load offline.

Layout under ``settings.cache_dir()/models``::

    <name>/weights.safetensors   the converted U-Nets (our own safe format)
    .downloads/<name>.tar.gz.part an unfinished download, resumed by the next try
    .install-<name>-<pid>-<random> an install in progress; one whose process was killed
                                  hard is removed by the next install (core.partials)

An install is all or nothing: the archive is checked against the SHA-256 that
stemsplit records for the published release (a download must also match the
release's ``checksum.json``; a file given with ``--from`` is checked the same way,
offline too), extracted within the sizes a genuine archive of that model has
(:func:`archive_limits`), converted in a temporary folder, and only then renamed
into place. Nothing in an archive is ever executed or unpickled: the checkpoint
is read as raw arrays.
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import shutil
import stat
import threading
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stemsplit import settings
from stemsplit.core.audio.partials import sweep_installs, temp_install_dir
from stemsplit.core.errors import Cancelled, ModelError
from stemsplit.core.models.archives import ArchiveLimits, safe_extract, sha256_file
from stemsplit.core.models.cancel_watch import CancelWatch
from stemsplit.core.models.download import (
    TIMEOUT_S,
    NotAModel,
    check_cancel,
    fetch,
    folder_error,
    open_url,
    reason,
)
from stemsplit.core.models.download import DownloadError as DownloadError  # re-exported
from stemsplit.core.models.safe_files import check_regular
from stemsplit.core.models.spleeter.convert import convert_spleeter
from stemsplit.core.models.spleeter.tf_checkpoint import MAX_INDEX_BYTES, read_checkpoint
from stemsplit.core.models.weights_file import FORMAT as FORMAT  # re-exported: the installed format
from stemsplit.core.models.weights_file import read_weights, write_weights

DEFAULT_BASE_URL = "https://github.com/deezer/spleeter/releases/download/v1.4.0/"
BASE_URL_ENV = "STEMSPLIT_MODEL_URL"
# Release archives and the number of U-Nets each holds (Spleeter's stem order).
ARCHIVES: dict[str, int] = {"2stems": 2, "4stems": 4, "5stems": 5}
# The published archives' SHA-256 (the release's checksum.json, also asserted by
# Spleeter's own test_checksum); files installed with --from are checked against it.
ARCHIVE_SHA256: dict[str, str | None] = {
    "2stems": "f3a90b39dd2874269e8b05a48a86745df897b848c61f3958efc80a39152bd692",
    "4stems": "3adb4a50ad4eb18c7c4d65fcf4cf2367a07d48408a5eb7d03cd20067429dfaa8",
    "5stems": "25a1e87eb5f75cc72a4d2d5467a0a50ac75f05611f877c278793742513cc7218",
}
# One U-Net's float32 weights (the 2-stem checkpoint's data shard is twice this).
UNET_BYTES = 39_307_040
WEIGHTS_FILE = "weights.safetensors"


def archive_limits(name: str) -> ArchiveLimits:
    """What a genuine archive of ``name`` can unpack to.

    The data shard holds one U-Net per stem, three times over at most (a
    checkpoint saved with its Adam slots); the graph (``model.meta``) and the
    small files come on top. Weights barely compress, so inflating past 20:1
    means zeros, not a model.
    """
    shard = ARCHIVES[name] * UNET_BYTES * 3 + (16 << 20)
    return ArchiveLimits(member_bytes=shard, total_bytes=shard + (64 << 20),
                         small_members={".index": MAX_INDEX_BYTES})


@dataclass(frozen=True)
class InstallProgress:
    """One progress report of an install.

    Attributes:
        stage: "download", "verify", "extract" or "convert".
        done: bytes downloaded so far (including a resumed part).
        total: the archive's size in bytes, or None when the server does not say.
        speed_bps: download speed of this session in bytes per second.
    """

    stage: str
    done: int = 0
    total: int | None = None
    speed_bps: float = 0.0

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


ProgressFn = Callable[[InstallProgress], None]


def base_url() -> str:
    url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"


def put_in_place(name: str, write: Callable[[Path], None]) -> Path:
    """Install a converted model: ``write(folder)`` fills a hidden folder beside the store,
    which then replaces ``model_dir(name)`` (a reinstall swaps, so a failure never leaves
    no model, and never half of one).

    Raises:
        ModelError: the store cannot be written.
    """
    folder = models_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        sweep_installs(folder)  # what a killed install left
        work = temp_install_dir(folder, name)  # names our pid
    except OSError as exc:
        raise folder_error(folder, exc) from exc
    try:
        staged = work / "model"
        write(staged)
        final = model_dir(name)
        old = work / "old"
        if final.exists():
            final.replace(old)
        try:
            staged.replace(final)
        except BaseException:
            if old.exists():
                old.replace(final)
            raise
    except OSError as exc:
        raise ModelError(f"could not install {name} into {folder}: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


def archive_url(name: str) -> str:
    return f"{base_url()}{name}.tar.gz"


def models_dir() -> Path:
    return settings.cache_dir() / "models"


def model_dir(name: str) -> Path:
    return models_dir() / name


def weights_path(name: str) -> Path:
    return model_dir(name) / WEIGHTS_FILE


def partial_path(name: str) -> Path:
    return models_dir() / ".downloads" / f"{name}.tar.gz.part"


def is_installed(name: str) -> bool:
    return weights_path(name).is_file()


def installed_models() -> list[str]:
    return [n for n in ARCHIVES if is_installed(n)]


def _check_name(name: str) -> int:
    if name not in ARCHIVES:
        raise ModelError(f"unknown downloadable model {name!r}; choose one of "
                         f"{', '.join(ARCHIVES)}")
    return ARCHIVES[name]


def offline_hint(name: str) -> str:
    return (f"Check the internet connection and try again (a download resumes where it "
            f"stopped), or download {archive_url(name)} elsewhere and run "
            f"'stemsplit models install {name} --from FILE'.")


# -- network -------------------------------------------------------------------------------


def fetch_checksum(name: str, timeout: float = TIMEOUT_S,
                   cancel: threading.Event | None = None) -> str:
    """The archive's SHA-256 from the release's ``checksum.json``.

    Accepts both ``{"4stems": hex}`` and ``{"4stems.tar.gz": hex}``.

    Raises:
        Cancelled: ``cancel`` was set (it takes effect even while the server is silent).
    """
    url = base_url() + "checksum.json"
    try:
        with CancelWatch(cancel) as watch, open_url(url, timeout=timeout,
                                                    watch=watch) as response:
            body = response.read(1 << 20)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        check_cancel(cancel)
        raise DownloadError(f"could not fetch the checksum list {url}: {reason(exc)}. "
                            + offline_hint(name)) from exc
    try:
        index = json.loads(body.decode("utf-8"))
    except ValueError:  # an HTML page (a proxy, a login portal, a moved release): say so
        raise NotAModel(url, "a model release's checksum list",
                        f"{len(body)} bytes starting {body[:20]!r}", offline_hint(name)) from None
    value = index.get(name, index.get(f"{name}.tar.gz")) if isinstance(index, dict) else None
    if not isinstance(value, str) or len(value) != 64:
        raise ModelError(f"the checksum list {url} has no SHA-256 for {name}")
    return value.lower()


def download(name: str, progress: ProgressFn | None = None,
             cancel: threading.Event | None = None) -> Path:
    """Download ``name``'s archive into its ``.part`` file, resuming an earlier try.

    Returns:
        The path of the complete (not yet verified) archive.

    Raises:
        DownloadError: network failure; the part stays for the next try.
        Cancelled: ``cancel`` was set; the part is deleted.
    """
    def report(done: int, total: int | None, speed: float) -> None:
        if progress is not None:
            progress(InstallProgress("download", done, total, speed))

    return fetch(archive_url(name), partial_path(name), offline_hint(name), report, cancel,
                 max_bytes=archive_limits(name).total_bytes)


# -- verify, extract, convert -------------------------------------------------------------


def _convert(folder: Path, name: str, n_stems: int, out_dir: Path, sha256: str) -> None:
    indexes = sorted(folder.rglob("*.index"))
    if len(indexes) != 1:
        raise ModelError(f"the archive for {name} holds {len(indexes)} checkpoints, expected 1")
    variables = read_checkpoint(indexes[0], max_shard_bytes=archive_limits(name).member_bytes)
    states = convert_spleeter(variables, n_stems)
    write_weights(out_dir / WEIGHTS_FILE, name, states, {"source_sha256": sha256})


def _install_archive(name: str, archive: Path, sha256: str, progress: ProgressFn | None,
                     cancel: threading.Event | None) -> Path:
    """Extract and convert into a temporary folder, then move it into place."""
    def write(staged: Path) -> None:
        if progress:
            progress(InstallProgress("extract"))
        extracted = archive
        if not archive.is_dir():
            extracted = staged.parent / "archive"  # inside put_in_place's temporary folder
            safe_extract(archive, extracted, archive_limits(name), cancel)
        if cancel is not None and cancel.is_set():
            raise Cancelled("install cancelled")
        if progress:
            progress(InstallProgress("convert"))
        staged.mkdir()
        _convert(extracted, name, ARCHIVES[name], staged, sha256)

    return put_in_place(name, write)


def install(name: str, source: Path | None = None, progress: ProgressFn | None = None,
            cancel: threading.Event | None = None, expected_sha256: str | None = None) -> Path:
    """Download (or take ``source``), verify, convert and install a model.

    Args:
        name: "2stems", "4stems" or "5stems".
        source: an archive (or extracted folder) the user fetched elsewhere.
            It is checked against ``expected_sha256`` or, when that is None, the
            release's checksum list if it can be reached; a file that cannot be
            checked is still only read as raw arrays.
        progress: called from this thread with InstallProgress records.
        cancel: set it to stop; nothing is installed then.
        expected_sha256: overrides the checksum list.

    Returns:
        The installed model's folder.

    Raises:
        DownloadError, ModelError, Cancelled: nothing is installed in any case.
    """
    _check_name(name)
    if source is not None:
        source = Path(source)
        try:
            mode = os.stat(source).st_mode
        except FileNotFoundError:
            raise ModelError(f"{source} does not exist") from None
        except OSError as exc:
            raise ModelError(f"cannot read {source}: {exc.strerror or exc}") from exc
        sha = ""
        if not stat.S_ISDIR(mode):
            check_regular(source)  # a FIFO or /dev/zero would hang the checksum forever
            if progress:
                progress(InstallProgress("verify"))
            sha = sha256_file(source, cancel, max_bytes=archive_limits(name).total_bytes)
            expected = _published_sha256(name, expected_sha256)
            if sha != expected:
                raise ModelError(f"{source} is not the published {name} archive "
                                 f"(SHA-256 {sha[:12]}..., expected {expected[:12]}...); "
                                 "it is damaged or another file, and nothing was installed")
        return _install_archive(name, source, sha, progress, cancel)
    listed = (expected_sha256 or fetch_checksum(name, cancel=cancel)).lower()
    recorded = _published_sha256(name, expected_sha256, fetch=False)
    archive = download(name, progress, cancel)
    if progress:
        progress(InstallProgress("verify", archive.stat().st_size, archive.stat().st_size))
    try:
        sha = sha256_file(archive, cancel, max_bytes=archive_limits(name).total_bytes)
        if sha != listed or (recorded and sha != recorded):
            raise ModelError(f"the downloaded {name} archive is damaged or not the published "
                             f"one (SHA-256 {sha[:12]}..., expected {listed[:12]}...); "
                             "nothing was installed, try again.")
        return _install_archive(name, archive, sha, progress, cancel)
    finally:
        # Verified or not, a finished archive is never resumed: the next try starts clean.
        archive.unlink(missing_ok=True)


def _published_sha256(name: str, override: str | None, fetch: bool = True) -> str | None:
    """The SHA-256 a genuine archive of ``name`` has: ``override``, stemsplit's record, or
    (for a model stemsplit has no record of) the release's checksum list."""
    if override:
        return override.lower()
    recorded = ARCHIVE_SHA256.get(name)
    if recorded or not fetch:
        return recorded
    return fetch_checksum(name, timeout=5.0)


def remove_path(path: Path, folder: Path) -> bool:
    """Delete a file or folder (a link itself, never its target); True if it was there.

    Raises:
        ModelError: it cannot be deleted (a read-only model folder), in one sentence.
    """
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        why = {errno.EROFS: "the disk is read-only",
               errno.EACCES: "the model folder is read-only for you",
               errno.EPERM: "the model folder is read-only for you"}.get(exc.errno,
                                                                        exc.strerror)
        raise ModelError(f"cannot remove {path}: {why or exc} (the model folder is "
                         f"{folder}); nothing was removed") from exc
    return True


def remove(name: str) -> bool:
    """Delete an installed model and any unfinished download; True if anything was there.

    Raises:
        ModelError: the model folder cannot be written (read-only disk or permissions).
    """
    _check_name(name)
    found = False
    for path in (model_dir(name), partial_path(name)):
        if os.path.lexists(path):
            found = remove_path(path, models_dir()) or found
    return found


def load_weights(name: str, n_stems: int) -> list[dict[str, np.ndarray]]:
    """The installed model's U-Net weights, one dict per stem.

    Raises:
        ModelError: not installed, or the file does not hold ``n_stems`` U-Nets.
    """
    path = weights_path(name)
    if not path.is_file():
        raise ModelError(f"the {name} model is not installed; install it with "
                         f"'stemsplit models install {name}' or from the model list")
    return read_weights(path, name, n_stems)
