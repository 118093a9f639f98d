"""One entry point to install or remove any downloadable model of the registry.

Spleeter archives go through ``model_store``; HT-Demucs checkpoints through
``htdemucs.store`` (which also asks for licence acceptance). Front ends (CLI,
download dialog) call these with the registry name.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stemsplit.core.errors import ModelError
from stemsplit.core.models import licences
from stemsplit.core.models import store as model_store
from stemsplit.core.models.registry import ModelInfo, builtin_names, get_model


def _downloadable(name: str) -> ModelInfo:
    info = get_model(name)
    if info.archive is None:
        raise ModelError(f"{name} is built in; there is nothing to install or remove")
    return info


def install(name: str, source: Path | Sequence[Path] | None = None, progress=None,
            cancel: threading.Event | None = None, accept_licence: bool = False) -> Path:
    """Download (or take ``source``), verify, convert and install model ``name``.

    Args:
        source: what the user downloaded elsewhere: a Spleeter archive; an
            HT-Demucs ``.th`` file, the folder holding a bag's files, or those files.
        accept_licence: record acceptance of the model's licence terms first (the
            user has just seen and accepted them).

    Raises:
        LicenceNotAccepted: the terms still need accepting.
        DownloadError, ModelError, Cancelled: nothing is installed.
    """
    from stemsplit.core.models.roformer import custom

    if name not in builtin_names() and custom.is_custom(name):  # a reinstall of the user's own
        return install_own_roformer(name, _as_list(source), progress, cancel)
    info = _downloadable(name)
    if accept_licence and info.licence_key is not None:
        licences.accept(info.licence_key)
    if info.family == "htdemucs":
        from stemsplit.core.models.htdemucs import store

        return store.install(info.archive, source=source, progress=progress, cancel=cancel)
    if info.family == "roformer":
        from stemsplit.core.models.roformer import store as roformer_store

        return roformer_store.install(info.archive, source=source, progress=progress,
                                      cancel=cancel)
    licences.require(info.licence_key, name, info.licence_terms or info.licence)
    if isinstance(source, (list, tuple)):
        if len(source) != 1:
            raise ModelError(f"the {name} model comes as one archive; choose just that file")
        source = source[0]
    return model_store.install(info.archive, source=source, progress=progress, cancel=cancel)


def _as_list(source: Path | Sequence[Path] | None) -> list[Path]:
    if source is None:
        raise ModelError("your own RoFormer is installed from its .ckpt and .yaml: pass both")
    return [Path(p) for p in source] if isinstance(source, (list, tuple)) else [Path(source)]


def taken_names() -> set[str]:
    """Names a new model (your own RoFormer, or one you train) may not take: stemsplit's,
    trained models', your own RoFormers', saved ensembles'."""
    from stemsplit.core.models.ensemble import spec as ensemble_spec
    from stemsplit.core.models.roformer import custom
    from stemsplit.core.models.spleeter import trained

    names = builtin_names() | set(ensemble_spec.presets())
    names |= {m.name for m in custom.discover(skip=set())}
    return names | {m.name for m in trained.discover(skip=set())}


def install_own_roformer(name: str, source: Path | Sequence[Path], progress=None,
                         cancel: threading.Event | None = None) -> Path:
    """Install the user's RoFormer checkpoint and its YAML as model ``name``
    (``roformer.custom``); a model of that name that is the user's own is replaced.

    Raises:
        ModelError, Cancelled: nothing is installed.
    """
    from stemsplit.core.models.roformer import custom

    # your own model of this name is replaced (a reinstall); any other name is refused
    taken = taken_names() - {m.name for m in custom.discover(skip=set())}
    return custom.install(name, _as_list(source), taken, progress, cancel)


def remove(name: str) -> bool:
    """Delete an installed, trained or own model; True if anything was there."""
    from stemsplit.core.models.roformer import custom
    from stemsplit.core.models.spleeter import trained

    if name not in builtin_names() and trained.model_folder(name).is_dir():
        return trained.remove(name)
    if name not in builtin_names() and custom.is_custom(name):
        return custom.remove(name)
    info = _downloadable(name)
    if info.family == "htdemucs":
        from stemsplit.core.models.htdemucs import store

        return store.remove(info.archive)
    if info.family == "roformer":
        from stemsplit.core.models.roformer import store as roformer_store

        return roformer_store.remove(info.archive)
    return model_store.remove(info.archive)


def needs_licence_acceptance(name: str) -> str | None:
    """The terms to show before downloading ``name``, or None when none are pending."""
    info = get_model(name)
    if licences.is_accepted(info.licence_key):
        return None
    return info.licence_terms or info.licence


@dataclass(frozen=True)
class DownloadOffer:
    """What a front end tells the user before downloading a model.

    Attributes:
        name: the registry name.
        family: "spleeter", "htdemucs" or "roformer".
        publisher: where the files come from, in words.
        licence: the licence in one line.
        terms: the full terms still to accept, or None when nothing is pending.
        urls: every file a download fetches (what to fetch elsewhere when offline).
        files: the names those files have (what *install from file* expects).
        download_mb: approximate download size.
    """

    name: str
    family: str
    publisher: str
    licence: str
    terms: str | None
    urls: tuple[str, ...]
    files: tuple[str, ...]
    download_mb: int | None

    @property
    def is_bag(self) -> bool:
        """Several files (``htdemucs_ft``): installed from a folder or several files."""
        return len(self.files) > 1


def download_offer(name: str) -> DownloadOffer:
    """The facts to show before downloading ``name`` (read now: URLs follow the env vars)."""
    info = _downloadable(name)
    if info.family == "htdemucs":
        from stemsplit.core.models.htdemucs import pretrained, store

        files = pretrained.get(info.archive).files
        urls = tuple(store.file_url(f) for f in files)
        publisher = "Meta AI's demucs downloads"
    elif info.family == "roformer":
        from stemsplit.core.models.roformer import pretrained as roformer_pretrained
        from stemsplit.core.models.roformer import store as roformer_store

        model = roformer_pretrained.get(info.archive)
        files, urls = (model.ckpt, model.yaml), roformer_store.urls(info.archive)
        publisher = f"{model.author}'s published checkpoint"
    else:
        files = (f"{info.archive}.tar.gz",)
        urls = (model_store.archive_url(info.archive),)
        publisher = "Deezer's Spleeter releases"
    return DownloadOffer(name, info.family, publisher, info.licence,
                         needs_licence_acceptance(name), urls, files, info.download_mb)
