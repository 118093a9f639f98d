"""The published HT-Demucs models, downloaded and converted by ``htdemucs.store``."""

from __future__ import annotations

from stemsplit.core.engine.separator import EngineOptions
from stemsplit.core.models.htdemucs import pretrained
from stemsplit.core.models.info import ModelInfo


def engine(info: ModelInfo, device: str = "auto", options: EngineOptions | None = None):
    """The family's engine factory (``models.registry.load_separator``)."""
    from stemsplit.core.models.htdemucs.engine import HTDemucsSeparator

    return HTDemucsSeparator(info, device=device, options=options)


def _htdemucs(name: str, title: str) -> ModelInfo:
    """A published HT-Demucs model, downloaded and converted by ``htdemucs.store``."""
    model = pretrained.get(name)

    def load():
        from stemsplit.core.models.htdemucs import store

        return store.load(name)

    def installed() -> bool:
        from stemsplit.core.models.htdemucs import store

        return store.is_installed(name)

    return ModelInfo(
        name=name, title=title, stems=model.sources, load_weights=load, is_installed=installed,
        licence=pretrained.LICENCE_SHORT, archive=name, download_mb=model.download_mb,
        family="htdemucs", licence_terms=pretrained.LICENCE,
        licence_key=pretrained.LICENCE_KEY)


MODELS = (
    _htdemucs("htdemucs", "HT-Demucs 4 stems: drums, bass, other, vocals"),
    _htdemucs("htdemucs_6s", "HT-Demucs 6 stems: + guitar, piano"),
    _htdemucs("htdemucs_ft", "HT-Demucs fine-tuned 4 stems (4x slower)"),
)
