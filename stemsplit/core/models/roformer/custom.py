"""The user's own RoFormer checkpoints, installed under a name they choose.

``stemsplit models install my-vocals --from X.ckpt X.yaml`` for a checkpoint
that is not in ``pretrained``: the YAML is read and checked like a catalogue
config (``config.read_yaml`` refuses what stemsplit cannot run), the checkpoint
is read without running pickle code and must fit the network the YAML
describes, and the converted model goes into the store beside the others
(``<models>/NAME/weights.safetensors``), its metadata saying it is the user's.
Nothing is known about such a file's terms, so its licence reads
:data:`LICENCE`. It is then a model like any other: in ``models list``, with
``--model NAME``, in ensembles.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

from stemsplit.core.errors import Cancelled, ModelError
from stemsplit.core.models import store as model_store
from stemsplit.core.models.archives import sha256_file
from stemsplit.core.models.info import ModelInfo
from stemsplit.core.models.roformer.checkpoint import (
    FORMAT,
    RoformerWeights,
    read_ckpt,
    read_model,
    write_model,
)
from stemsplit.core.models.roformer.config import BS, RoformerConfig, read_yaml
from stemsplit.core.models.safe_files import check_regular
from stemsplit.core.models.store import InstallProgress, ProgressFn

log = logging.getLogger(__name__)

LICENCE = "licence unknown: you supplied this file"
ORIGIN = "custom"  # the weights file's metadata "origin" for a user's checkpoint
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
RESERVED = {"trained", "custom"}  # folders of the store that are not models


def check_name(name: str, taken: set[str]) -> None:
    """A name the user's model may take: safe as a folder name, not another model's."""
    if not isinstance(name, str) or not NAME_RE.match(name) or name in RESERVED:
        raise ModelError(f"{name!r} cannot name a model: use 1-40 lower-case letters, digits, "
                         "'-' or '_', starting with a letter or digit")
    if name in taken:
        raise ModelError(f"{name} is already the name of a model; choose another name")


def split_sources(sources: Sequence[Path]) -> tuple[Path, Path]:
    """The ``.ckpt`` and the ``.yaml`` among the files the user gave."""
    ckpts = [p for p in sources if p.suffix.lower() not in (".yaml", ".yml")]
    yamls = [p for p in sources if p.suffix.lower() in (".yaml", ".yml")]
    if len(ckpts) != 1 or len(yamls) != 1:
        raise ModelError("your own RoFormer is installed from two files: its checkpoint "
                         "(.ckpt) and its config (.yaml)")
    for path in (ckpts[0], yamls[0]):
        if not path.exists():
            raise ModelError(f"{path} does not exist")
        check_regular(path)  # a FIFO would hang the checksum
    return ckpts[0], yamls[0]


def install(name: str, sources: Sequence[Path], taken: set[str],
            progress: ProgressFn | None = None,
            cancel: threading.Event | None = None) -> Path:
    """Check, convert and install the user's checkpoint as model ``name``.

    Args:
        sources: the ``.ckpt`` and its ``.yaml``.
        taken: names of other models (a reinstall of ``name`` itself is allowed).

    Raises:
        ModelError, Cancelled: nothing is installed (an earlier install stays).
    """
    check_name(name, taken)
    ckpt, yaml = split_sources([Path(p) for p in sources])
    config = read_yaml(yaml)  # refuses what stemsplit cannot run, naming the key
    if progress:
        progress(InstallProgress("verify"))
    digest = sha256_file(ckpt, cancel)
    if cancel is not None and cancel.is_set():
        raise Cancelled("install cancelled")
    if progress:
        progress(InstallProgress("convert"))
    weights = RoformerWeights(config, read_ckpt(ckpt))
    weights.build()  # raises ModelError when the weights do not fit the config
    meta = {"source_sha256": digest, "origin": ORIGIN, "ckpt": ckpt.name, "yaml": yaml.name}
    return model_store.put_in_place(name, lambda folder: write_model(
        folder / model_store.WEIGHTS_FILE, name, weights, meta))


def _origin(path: Path) -> tuple[str | None, RoformerConfig | None]:
    """The ``origin`` and config in a weights file's header (no tensors are read)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        if meta.get("format") != FORMAT:
            return None, None
        return meta.get("origin"), RoformerConfig.from_json(meta["config"])
    except (SafetensorError, OSError, KeyError, ValueError, TypeError):
        return None, None


def is_custom(name: str) -> bool:
    return bool(NAME_RE.match(name)) and name not in RESERVED and \
        _origin(model_store.weights_path(name))[0] == ORIGIN


def describe(config: RoformerConfig) -> str:
    arch = "BS-RoFormer" if config.arch == BS else "Mel-Band RoFormer"
    return f"{arch} {config.dim}x{config.depth}, {'stereo' if config.stereo else 'mono'}"


def _info(name: str, config: RoformerConfig) -> ModelInfo:
    path = model_store.weights_path(name)
    return ModelInfo(
        name=name, title=f"{name} (your {describe(config)})", stems=config.stems,
        load_weights=lambda: read_model(path, name), is_installed=path.is_file,
        sample_rate=config.sample_rate, licence=LICENCE, archive=name, family="roformer")


def discover(skip: set[str]) -> list[ModelInfo]:
    """The user's RoFormers in the store (names in ``skip`` are left out)."""
    try:
        folders = sorted(p for p in model_store.models_dir().iterdir()
                         if p.is_dir() and not p.is_symlink())
    except OSError:
        return []
    found = []
    for folder in folders:
        name = folder.name
        if name in skip or name in RESERVED or not NAME_RE.match(name):
            continue
        origin, config = _origin(folder / model_store.WEIGHTS_FILE)
        if origin == ORIGIN and config is not None:
            found.append(_info(name, config))
    return found


def lookup(name: str) -> ModelInfo | None:
    if not NAME_RE.match(name) or name in RESERVED:
        return None
    origin, config = _origin(model_store.weights_path(name))
    return _info(name, config) if origin == ORIGIN and config is not None else None


def remove(name: str) -> bool:
    """Delete the user's model; True if it was there."""
    if not is_custom(name):
        return False
    try:
        shutil.rmtree(model_store.model_dir(name))
    except OSError as exc:
        raise ModelError(f"cannot remove {model_store.model_dir(name)}: "
                         f"{exc.strerror or exc}") from None
    return True
