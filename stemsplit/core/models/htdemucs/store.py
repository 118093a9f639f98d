"""Downloading and installing the published HT-Demucs models.

Layout under the model folder (``model_store.models_dir()``)::

    <name>/weights.safetensors          the converted bag (checkpoint.write_bag)
    .downloads/<file>.th.part           an unfinished download, resumed by the next try
    .downloads/<file>.th                a finished, verified file of an unfinished bag

Each ``.th`` file is checked against its whole SHA-256 where stemsplit records it
(``FULL_SHA256``), else the SHA-256 prefix in its own name; it is read
with the allow-listing loader (``checkpoint.read_demucs_checkpoint``: no pickle
code runs), checked against the architecture, and converted once; nothing is
installed unless every file of the bag passed. The weights' licence terms must
have been accepted first (``licences``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

from stemsplit.core.errors import Cancelled, ModelError
from stemsplit.core.models import licences
from stemsplit.core.models import store as model_store
from stemsplit.core.models.archives import sha256_file
from stemsplit.core.models.download import fetch
from stemsplit.core.models.htdemucs import pretrained
from stemsplit.core.models.htdemucs.checkpoint import (
    BagFile,
    read_bag,
    read_demucs_checkpoint,
    write_bag,
)
from stemsplit.core.models.safe_files import check_regular
from stemsplit.core.models.store import InstallProgress, ProgressFn


class IncompleteBag(ModelError):
    """One file was given for a model that is a bag of several (the window words it its way)."""

    def __init__(self, name: str, files: Sequence[str]) -> None:
        self.name, self.files = name, tuple(files)
        super().__init__(f"{name} is a bag of {len(files)} files; pass the folder that holds "
                         f"{', '.join(files)} (or all of them)")


def is_known(name: str) -> bool:
    return name in pretrained.PRETRAINED


def _model(name: str) -> pretrained.Pretrained:
    try:
        return pretrained.get(name)
    except KeyError:
        raise ModelError(f"unknown HT-Demucs model {name!r}; choose one of "
                         f"{', '.join(pretrained.PRETRAINED)}") from None


def base_url() -> str:
    url = os.environ.get(pretrained.URL_ENV) or pretrained.ROOT_URL
    return url if url.endswith("/") else url + "/"


def file_url(file: str) -> str:
    return base_url() + file


def downloads_dir() -> Path:
    return model_store.models_dir() / ".downloads"


def is_installed(name: str) -> bool:
    return model_store.weights_path(name).is_file()


def offline_hint(name: str) -> str:
    files = " ".join(file_url(f) for f in _model(name).files)
    return (f"Check the internet connection and try again (a download resumes where it "
            f"stopped), or download {files} elsewhere and run 'stemsplit models install "
            f"{name} --from FILE_OR_FOLDER'.")


# Full SHA-256 of every published file (demucs's own list carries only the 8-hex
# prefix in each name, which takes about a core-hour to forge). Meta publishes no
# whole hash; these are the values that many independent projects record for the
# files at ROOT_URL (each agrees with its name's prefix), and all files are
# checked against them.
FULL_SHA256 = {
    "955717e8-8726e21a.th": "8726e21a993978c7ba086d3872e7608d7d5bfca646ca4aca459ffda844faa8b4",
    "5c90dfd2-34c22ccb.th": "34c22ccb381c6f9fdbf324f04e1e2fe21aaaf293f5ded163a162697ff9a02ddd",
    "f7e0c4bc-ba3fe64a.th": "ba3fe64ae8ef66ac9a4857222ce48efbdc5eb3ad375cb79dd13debee5aaa4066",
    "d12395a8-e57c48e6.th": "e57c48e6b0e38af4f7118d7bd08c49f0a0c0edf7d09143bdd902ea0d237303e6",
    "92cfc3b6-ef3bcb9c.th": "ef3bcb9c8b40d14ae5d51b6db2587339cc12c6b77c0be151ce6d69002e087bf2",
    "04573f0d-f3cf25b2.th": "f3cf25b222c4eed7cd49dd8b2c9597d50c18bd154090f7b919cfa5f93cf22c49",
}


def expected_sha256(model: pretrained.Pretrained, file: str) -> str:
    """The whole SHA-256 of ``file`` when recorded, else the prefix its name carries."""
    prefix = model.sha256_prefix(file)
    full = FULL_SHA256.get(file, "")
    return full if full.startswith(prefix) else prefix


def max_file_bytes(model: pretrained.Pretrained) -> int:
    """The largest a genuine file of ``model`` can be (a published one is ~56-84 MB)."""
    return int(2e6 * model.download_mb / len(model.files)) + (16 << 20)


def _verify(path: Path, expected_prefix: str, cancel: threading.Event | None,
            max_bytes: int | None = None) -> None:
    digest = sha256_file(path, cancel, max_bytes=max_bytes)
    if not digest.startswith(expected_prefix):
        raise ModelError(f"{path.name} is damaged or not the published file (SHA-256 "
                         f"{digest[:8]}..., expected {expected_prefix[:8]}...); nothing was "
                         "installed, try again.")


def _download_all(model: pretrained.Pretrained, progress: ProgressFn | None,
                  cancel: threading.Event | None) -> list[Path]:
    """Every file of the bag, downloaded (or found finished) and verified."""
    paths: list[Path] = []
    finished_bytes = 0
    hint = offline_hint(model.name)
    for index, file in enumerate(model.files):
        final = downloads_dir() / file
        if final.is_file() and not final.is_symlink():
            try:
                _verify(final, expected_sha256(model, file), cancel, max_file_bytes(model))
            except ModelError:
                final.unlink()
        if not final.is_file():
            remaining = len(model.files) - index

            def report(done: int, total: int | None, speed: float, base=finished_bytes,
                       remaining=remaining) -> None:
                if progress is not None:
                    # later files of a bag are as large as this one (true of htdemucs_ft)
                    whole = base + total * remaining if total else None
                    progress(InstallProgress("download", base + done, whole, speed))

            if os.path.lexists(final):  # a link or a folder planted where a finished file goes
                model_store.remove_path(final, downloads_dir())
            part = fetch(file_url(file), downloads_dir() / f"{file}.part", hint, report, cancel,
                         max_bytes=max_file_bytes(model))
            if progress:
                progress(InstallProgress("verify", 0, None))
            try:
                _verify(part, expected_sha256(model, file), cancel, max_file_bytes(model))
            except ModelError:
                part.unlink(missing_ok=True)  # a bad file is never resumed
                raise
            part.replace(final)
        finished_bytes += final.stat().st_size
        paths.append(final)
    return paths


def _files_from(model: pretrained.Pretrained, sources: list[Path],
                cancel: threading.Event | None) -> list[Path]:
    """The bag's files, verified: from a folder (by name), a one-file model's file, or files.

    Chosen files are matched to the bag by name, and those renamed on the way (a
    browser's ``name (1).th``) by the SHA-256 prefix of their content.
    """
    if len(sources) == 1 and sources[0].is_dir():
        folder = sources[0]
        paths = []
        for file in model.files:
            found = folder / file
            if not os.path.lexists(found):
                raise ModelError(f"{folder} has no {file} (the {model.name} model needs "
                                 f"{', '.join(model.files)})")
            check_regular(found)  # a FIFO there would hang the checksum forever
            paths.append(found)
    elif len(sources) == 1 and len(model.files) == 1:
        paths = sources
    elif len(sources) == 1:
        raise IncompleteBag(model.name, model.files)
    else:
        return _match_files(model, sources, cancel)
    for path, file in zip(paths, model.files, strict=True):
        _verify(path, expected_sha256(model, file), cancel, max_file_bytes(model))
    return paths


def _match_files(model: pretrained.Pretrained, sources: list[Path],
                 cancel: threading.Event | None) -> list[Path]:
    found: dict[str, Path] = {}
    unnamed = []
    for path in sources:
        if path.is_dir():
            raise ModelError(f"{path} is a folder; choose either one folder or the files")
        check_regular(path)
        if path.name in model.files and path.name not in found:
            _verify(path, expected_sha256(model, path.name), cancel, max_file_bytes(model))
            found[path.name] = path
        else:
            unnamed.append(path)
    for path in unnamed:
        digest = sha256_file(path, cancel, max_bytes=max_file_bytes(model))
        file = next((f for f in model.files if digest.startswith(expected_sha256(model, f))),
                    None)
        if file is None:
            raise ModelError(f"{path.name} is not one of the {model.name} files "
                             f"({', '.join(model.files)})")
        if file in found:
            raise ModelError(f"{path.name} is a second copy of {file}; the {model.name} "
                             f"model needs {', '.join(model.files)}")
        found[file] = path
    missing = [f for f in model.files if f not in found]
    if missing:
        raise ModelError(f"the {model.name} model needs {len(model.files)} files; "
                         f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                         "missing from those chosen")
    return [found[f] for f in model.files]


def convert(model: pretrained.Pretrained, paths: list[Path]) -> BagFile:
    """Read the bag's checkpoints safely and check them against the registry and architecture."""
    members = [read_demucs_checkpoint(p) for p in paths]
    for path, member in zip(paths, members, strict=True):
        if member.config.sources != model.sources:
            raise ModelError(f"{path.name} separates {', '.join(member.config.sources)}, "
                             f"not the {model.name} stems ({', '.join(model.sources)})")
        member.build()  # the weights must fit the architecture the kwargs describe
    return BagFile(members, model.bag_weights(), model.segment)


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a loop of symbolic links
        raise ModelError(f"cannot follow {path}: it is a loop of symbolic links or "
                         "unreadable") from None


def install(name: str, source: Path | Sequence[Path] | None = None,
            progress: ProgressFn | None = None,
            cancel: threading.Event | None = None) -> Path:
    """Download (or take from ``source``), verify, convert and install a model.

    Args:
        name: ``htdemucs``, ``htdemucs_6s`` or ``htdemucs_ft``.
        source: a ``.th`` file (one-file models), a folder holding the bag's files,
            or the bag's files themselves (in any order, renamed or not).
        progress: called with InstallProgress records ("download", "verify", "convert").
        cancel: set it to stop; nothing is installed then.

    Raises:
        LicenceNotAccepted: the weights' terms were not accepted (``licences.accept``).
        DownloadError, ModelError, Cancelled: nothing is installed in any case.
    """
    model = _model(name)
    licences.require(pretrained.LICENCE_KEY, name, pretrained.LICENCE)
    if source is not None:
        sources = [Path(p) for p in source] if isinstance(source, (list, tuple)) \
            else [Path(source)]
        sources = list(dict.fromkeys(_resolved(p) for p in sources))  # each file once
        if not sources:
            raise ModelError(f"no files chosen for {name}")
        for path in sources:
            if not path.exists():
                raise ModelError(f"{path} does not exist")
            if not path.is_dir():
                check_regular(path)
        if progress:
            progress(InstallProgress("verify"))
        paths = _files_from(model, sources, cancel)
    else:
        paths = _download_all(model, progress, cancel)
    if cancel is not None and cancel.is_set():
        raise Cancelled("install cancelled")
    if progress:
        progress(InstallProgress("convert"))
    bag = convert(model, paths)
    final = model_store.put_in_place(name, lambda folder: write_bag(
        folder / model_store.WEIGHTS_FILE, name, bag, {"source_files": ",".join(model.files)}))
    if source is None:
        for path in paths:
            path.unlink(missing_ok=True)  # installed: the downloaded .th files are not kept
    return final


def remove(name: str) -> bool:
    """Delete an installed model and its unfinished downloads; True if anything was there."""
    model = _model(name)
    found = False
    paths = [model_store.model_dir(name)]
    paths += [downloads_dir() / f for file in model.files for f in (file, f"{file}.part")]
    for path in paths:
        if os.path.lexists(path):
            found = model_store.remove_path(path, model_store.models_dir()) or found
    return found


def load(name: str) -> BagFile:
    """The installed model (weights still in their stored dtype).

    Raises:
        ModelError: not installed, or the file is damaged, edited or another model's.
    """
    path = model_store.weights_path(name)
    if not path.is_file():
        raise ModelError(f"the {name} model is not installed; install it with "
                         f"'stemsplit models install {name} --accept-licence' or from the "
                         "model list")
    return read_bag(path, name)
