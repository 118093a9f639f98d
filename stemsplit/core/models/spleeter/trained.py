"""U-Nets a user trained (``stemsplit train``): stored beside the downloaded models.

Each lives in ``<models>/trained/NAME/``: ``weights.safetensors`` (our checksummed
U-Net format, the best checkpoint so far), ``model.json`` (its card: base model,
stems, architecture, data summary, validation SDR) and, while training,
``training.safetensors`` (everything ``--resume`` needs). They run on the
Spleeter engine like the built-in model.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import stat
from pathlib import Path

from stemsplit.core.errors import ModelError
from stemsplit.core.models import store as model_store
from stemsplit.core.models.info import ModelInfo
from stemsplit.core.models.spleeter.sources import WeightFiles
from stemsplit.core.models.spleeter.unet import UNetConfig
from stemsplit.core.models.weights_file import read_weights, write_atomically, write_weights

log = logging.getLogger(__name__)

CARD = "model.json"
WEIGHTS = "weights.safetensors"
CARD_FORMAT = "stemsplit-trained-unet-1"
MAX_CARD_BYTES = 1 << 20
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
ACTIVATIONS = ("leaky_relu", "relu", "elu")
MAX_STEMS = 8


def trained_dir() -> Path:
    return model_store.models_dir() / "trained"


def model_folder(name: str) -> Path:
    return trained_dir() / name


def check_name(name: str, taken: set[str]) -> None:
    """A new model's name: short, lower case, safe as a folder name, not a known model."""
    if not NAME_RE.match(name):
        raise ModelError(f"{name!r} cannot name a model: use 1-40 lower-case letters, digits, "
                         "'-' or '_', starting with a letter or digit")
    if name in taken:
        raise ModelError(f"{name} is already the name of a model (built-in, downloadable, "
                         "trained, your own or a saved ensemble); choose another name")


def save_model(name: str, states: list[dict], card: dict) -> Path:
    """Write the weights and the card (each atomically; the card last, so a model that
    appears in the list always has its weights)."""
    folder = model_folder(name)
    folder.mkdir(parents=True, exist_ok=True)
    write_weights(folder / WEIGHTS, name, states)
    text = json.dumps({"format": CARD_FORMAT, **card}, indent=2)
    write_atomically(folder / CARD, lambda tmp: tmp.write_text(text))
    return folder


def read_card(folder: Path) -> dict:
    """The card of a trained model, checked; ModelError naming the file otherwise."""
    path = folder / CARD
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_CARD_BYTES:
            raise ModelError(f"{path} is not a model card")
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise ModelError(f"{path} is not a stemsplit model card")
    stems = card.get("stems")
    unet = card.get("unet")
    if not (isinstance(stems, list) and 1 <= len(stems) <= MAX_STEMS and
            all(isinstance(s, str) and 0 < len(s) <= 40 for s in stems) and
            len(set(stems)) == len(stems)):
        raise ModelError(f"{path}: 'stems' must list 1-{MAX_STEMS} distinct names")
    if not (isinstance(unet, dict) and unet.get("encoder_activation") in ACTIVATIONS and
            unet.get("decoder_activation") in ACTIVATIONS and
            isinstance(unet.get("sigmoid_head"), bool)):
        raise ModelError(f"{path}: 'unet' does not describe a Spleeter U-Net")
    return card


def unet_config(card: dict) -> UNetConfig:
    u = card["unet"]
    return UNetConfig(encoder_activation=u["encoder_activation"],
                      decoder_activation=u["decoder_activation"], sigmoid_head=u["sigmoid_head"])


def summary(card: dict) -> str:
    """One line for ``models list``: base, data, best validation SDR."""
    base = card.get("base") or "scratch"
    data = card.get("data") if isinstance(card.get("data"), dict) else {}
    tracks, minutes = data.get("tracks"), data.get("minutes")
    parts = [f"trained from {base}" if base != "scratch" else "trained from scratch"]
    if isinstance(tracks, int) and isinstance(minutes, (int, float)):
        parts.append(f"on {tracks} track{'s' * (tracks != 1)} ({minutes:.1f} min)")
    best = card.get("best_valid_sdr")
    if isinstance(best, dict) and best:
        parts.append("validation SDR " + ", ".join(
            f"{k} {v:.2f} dB" for k, v in best.items() if isinstance(v, (int, float))))
    step = card.get("step")
    if isinstance(step, int):
        parts.append(f"step {step}")
    return "; ".join(parts)


def _info(name: str, card: dict) -> ModelInfo:
    stems = tuple(card["stems"])
    path = model_folder(name) / WEIGHTS
    return ModelInfo(
        name=name, title=f"{name} (trained: {', '.join(stems)})", stems=stems,
        load_weights=WeightFiles(lambda: read_weights(path, name, len(stems)),
                                 lambda: [path]),
        is_installed=path.is_file, unet=unet_config(card),
        licence=f"your own model ({summary(card)})", summary=summary(card))


def discover(skip: set[str]) -> list[ModelInfo]:
    """Trained models on disk (names in ``skip`` and damaged cards are left out)."""
    root = trained_dir()
    try:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return []
    found = []
    for folder in folders:
        if folder.name in skip or not NAME_RE.match(folder.name):
            continue
        try:
            found.append(_info(folder.name, read_card(folder)))
        except ModelError as exc:
            log.warning("skipping a trained model: %s", exc)
    return found


def remove(name: str) -> bool:
    """Delete a trained model's folder; True if it was there."""
    folder = model_folder(name)
    if not NAME_RE.match(name) or not folder.is_dir():
        return False
    try:
        shutil.rmtree(folder)
    except OSError as exc:
        raise ModelError(f"cannot remove {folder}: {exc.strerror or exc}") from None
    return True
