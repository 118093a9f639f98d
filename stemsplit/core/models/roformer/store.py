"""Downloading and installing RoFormer checkpoints (a ``.ckpt`` plus its ``.yaml``).

Layout under the model folder (``model_store.models_dir()``)::

    <name>/weights.safetensors        the converted model, its config in the metadata
    .downloads/<file>.part            an unfinished download, resumed by the next try
    .roformer-pins.json               SHA-256 of each checkpoint first installed (see below)

An install is all or nothing: the config must be one stemsplit can run, the
checkpoint is read without running pickle code (``checkpoint.read_ckpt``) and must
fit the network its config describes; only then is it converted and moved into
place. A checkpoint is checked against its published SHA-256 where
``pretrained`` knows one; where none is published, the SHA-256 of the first file
that installs is pinned, and later installs of that model must match it. The
licence terms must have been accepted first (``licences``).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

from stemsplit.core.errors import Cancelled, ModelError
from stemsplit.core.models import licences
from stemsplit.core.models import store as model_store
from stemsplit.core.models.archives import sha256_file
from stemsplit.core.models.download import fetch
from stemsplit.core.models.roformer import pretrained
from stemsplit.core.models.roformer.checkpoint import (
    RoformerWeights,
    read_ckpt,
    read_model,
    write_model,
)
from stemsplit.core.models.roformer.config import read_yaml
from stemsplit.core.models.store import InstallProgress, ProgressFn
from stemsplit.core.models.weights_file import write_atomically

PINS_FILE = ".roformer-pins.json"


def _model(name: str) -> pretrained.Pretrained:
    try:
        return pretrained.get(name)
    except KeyError:
        raise ModelError(f"unknown RoFormer model {name!r}; choose one of "
                         f"{', '.join(pretrained.PRETRAINED)}") from None


def urls(name: str) -> tuple[str, str]:
    """The checkpoint's and the config's URL (both under ``$STEMSPLIT_ROFORMER_URL`` if set)."""
    model = _model(name)
    base = os.environ.get(pretrained.URL_ENV)
    if base:
        base = base if base.endswith("/") else base + "/"
        return base + model.ckpt, base + model.yaml
    return model.ckpt_url, model.yaml_url


def downloads_dir() -> Path:
    return model_store.models_dir() / ".downloads"


def is_installed(name: str) -> bool:
    return model_store.weights_path(name).is_file()


def offline_hint(name: str) -> str:
    ckpt, yaml = urls(name)
    return (f"Check the internet connection and try again (a download resumes where it "
            f"stopped), or download {ckpt} and {yaml} elsewhere and run 'stemsplit models "
            f"install {name} --from CKPT YAML'.")


def pinned_sha256(name: str) -> str | None:
    """The SHA-256 the checkpoint must have: published, or pinned by the first install."""
    known = _model(name).sha256
    if known:
        return known.lower()
    try:
        pins = json.loads((model_store.models_dir() / PINS_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    value = pins.get(name) if isinstance(pins, dict) else None
    return value if isinstance(value, str) and len(value) == 64 else None


def _pin(name: str, digest: str) -> None:
    path = model_store.models_dir() / PINS_FILE
    try:
        pins = json.loads(path.read_text("utf-8"))
        pins = pins if isinstance(pins, dict) else {}
    except (OSError, ValueError):
        pins = {}
    pins[name] = digest
    text = json.dumps(pins, indent=1, sort_keys=True)
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _download(name: str, progress: ProgressFn | None,
              cancel: threading.Event | None) -> tuple[Path, Path]:
    model = _model(name)
    ckpt_url, yaml_url = urls(name)
    hint = offline_hint(name)
    yaml_part = fetch(yaml_url, downloads_dir() / f"{model.yaml}.part", hint, None, cancel)

    def report(done: int, total: int | None, speed: float) -> None:
        if progress is not None:
            progress(InstallProgress("download", done, total, speed))

    ckpt_part = fetch(ckpt_url, downloads_dir() / f"{model.ckpt}.part", hint, report, cancel)
    return ckpt_part, yaml_part


def _split_sources(sources: list[Path]) -> tuple[Path, Path]:
    """The ``.ckpt`` and the ``.yaml`` among what the user chose (a folder or two files)."""
    if len(sources) == 1 and sources[0].is_dir():
        found = sorted(sources[0].iterdir())
        sources = [p for p in found if p.suffix.lower() in (".ckpt", ".yaml", ".yml")]
    ckpts = [p for p in sources if p.suffix.lower() != ".yaml" and p.suffix.lower() != ".yml"]
    yamls = [p for p in sources if p.suffix.lower() in (".yaml", ".yml")]
    if len(ckpts) != 1 or len(yamls) != 1:
        raise ModelError("a RoFormer model is installed from two files: its checkpoint "
                         "(.ckpt) and its config (.yaml)")
    return ckpts[0], yamls[0]


def convert(name: str, ckpt: Path, yaml: Path) -> RoformerWeights:
    """Read the config and the checkpoint safely; check they fit each other and the model."""
    config = read_yaml(yaml)
    model = _model(name)
    if config.stems != model.stems:
        raise ModelError(f"{yaml.name} describes a model separating "
                         f"{', '.join(config.stems)}, not {name} ({', '.join(model.stems)})")
    weights = RoformerWeights(config, read_ckpt(ckpt))
    weights.build()  # raises ModelError when the weights do not fit the config
    return weights


def install(name: str, source: Path | Sequence[Path] | None = None,
            progress: ProgressFn | None = None,
            cancel: threading.Event | None = None) -> Path:
    """Download (or take from ``source``), verify, convert and install a checkpoint.

    Args:
        source: the ``.ckpt`` and ``.yaml`` downloaded elsewhere (or their folder).

    Raises:
        LicenceNotAccepted: the terms were not accepted (``licences.accept``).
        DownloadError, ModelError, Cancelled: nothing is installed in any case.
    """
    model = _model(name)
    licences.require(model.licence_key, name, model.terms)
    downloaded = source is None
    if downloaded:
        ckpt, yaml = _download(name, progress, cancel)
    else:
        sources = [Path(p) for p in source] if isinstance(source, (list, tuple)) \
            else [Path(source)]
        for path in sources:
            if not path.exists():
                raise ModelError(f"{path} does not exist")
        ckpt, yaml = _split_sources(sources)
    if progress:
        progress(InstallProgress("verify"))
    digest = sha256_file(ckpt, cancel)
    expected = pinned_sha256(name)
    if expected is not None and digest != expected:
        if downloaded:
            ckpt.unlink(missing_ok=True)  # a bad file is never resumed
        which = "published" if model.sha256 else "installed before"
        raise ModelError(f"{ckpt.name} is damaged or not the {name} checkpoint {which} "
                         f"(SHA-256 {digest[:12]}..., expected {expected[:12]}...); "
                         "nothing was installed.")
    if cancel is not None and cancel.is_set():
        raise Cancelled("install cancelled")
    if progress:
        progress(InstallProgress("convert"))
    try:
        weights = convert(name, ckpt, yaml)
    except ModelError:
        if downloaded:
            ckpt.unlink(missing_ok=True)
            yaml.unlink(missing_ok=True)
        raise
    final = _put_in_place(name, weights, digest)
    if expected is None:
        _pin(name, digest)
    if downloaded:
        ckpt.unlink(missing_ok=True)  # installed: the downloaded files are not kept
        yaml.unlink(missing_ok=True)
    return final


def _put_in_place(name: str, weights: RoformerWeights, digest: str) -> Path:
    return model_store.put_in_place(name, lambda folder: write_model(
        folder / model_store.WEIGHTS_FILE, name, weights, {"source_sha256": digest}))


def remove(name: str) -> bool:
    """Delete an installed model and its unfinished downloads (the pin stays)."""
    model = _model(name)
    found = False
    if model_store.model_dir(name).exists():
        shutil.rmtree(model_store.model_dir(name))
        found = True
    for file in (model.ckpt, model.yaml):
        part = downloads_dir() / f"{file}.part"
        if part.exists():
            part.unlink()
            found = True
    return found


def load(name: str) -> RoformerWeights:
    """The installed model. Raises ModelError when not installed or damaged."""
    path = model_store.weights_path(name)
    if not path.is_file():
        raise ModelError(f"the {name} model is not installed; install it with "
                         f"'stemsplit models install {name}' or from the model list")
    return read_model(path, name)
