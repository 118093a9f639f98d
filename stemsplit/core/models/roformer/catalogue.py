"""The published RoFormer checkpoints, downloaded and converted by ``roformer.store``."""

from __future__ import annotations

from stemsplit.core.engine.separator import EngineOptions
from stemsplit.core.models.info import ModelInfo
from stemsplit.core.models.roformer import pretrained


def engine(info: ModelInfo, device: str = "auto", options: EngineOptions | None = None):
    """The family's engine factory (``models.registry.load_separator``)."""
    from stemsplit.core.models.roformer.engine import RoformerSeparator

    return RoformerSeparator(info, device=device, options=options)


def _roformer(model: pretrained.Pretrained) -> ModelInfo:
    def load():
        from stemsplit.core.models.roformer import store

        return store.load(model.name)

    def installed() -> bool:
        from stemsplit.core.models.roformer import store

        return store.is_installed(model.name)

    title = f"{model.title}: {model.score}" if model.score else model.title
    return ModelInfo(
        name=model.name, title=title, stems=model.stems, load_weights=load,
        is_installed=installed, licence=f"{model.author}'s weights: {pretrained.NO_LICENCE}",
        archive=model.name, family="roformer", licence_terms=model.terms,
        licence_key=model.licence_key,
        download_mb=None if model.size is None else round(model.size / 1e6))


MODELS = tuple(_roformer(m) for m in pretrained.PRETRAINED.values())
