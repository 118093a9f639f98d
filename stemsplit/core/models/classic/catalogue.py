"""Registry entries of the classic separators (no weights to download or load)."""

from __future__ import annotations

from stemsplit.core.engine.separator import EngineOptions
from stemsplit.core.models.classic import engine as classic_engine
from stemsplit.core.models.info import ModelInfo

LICENCE = "signal processing, no weights (part of stemsplit, MIT)"

_METHODS = {
    "hpss": classic_engine.hpss(),
    "hpss_residual": classic_engine.hpss(margin=3.0),
    "repet": classic_engine.repet_sim(),
    "centre": classic_engine.centre(),
    "midside": classic_engine.mid_side(),
}


def engine(info: ModelInfo, device: str = "auto", options: EngineOptions | None = None):
    """The family's engine factory (``models.registry.load_separator``)."""
    return classic_engine.ClassicSeparator(info, _METHODS[info.name], device, options)


def _entry(name: str, title: str, stems: tuple[str, ...]) -> ModelInfo:
    return ModelInfo(name=name, title=title, stems=stems, load_weights=lambda: None,
                     is_installed=lambda: True, licence=LICENCE, family="classic")


MODELS = (
    _entry("hpss", "HPSS: harmonic, percussive (no model)",
           ("harmonic", "percussive")),
    _entry("hpss_residual", "HPSS: + residual (no model)",
           ("harmonic", "percussive", "residual")),
    _entry("repet", "REPET-SIM: foreground, background (no model)",
           ("foreground", "background")),
    _entry("centre", "Centre, sides by panning (no model)", ("centre", "sides")),
    _entry("midside", "Mid, side (no model)", ("mid", "side")),
)
