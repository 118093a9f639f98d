"""Ensembles as models: a spec (``A+B``) or a saved preset becomes a ``ModelInfo``.

The registry asks :func:`lookup` for names it does not know and lists
:func:`preset_models`; ``engine`` builds the ensemble's separator, loading each
member through the registry when its turn comes. The registry hands in its own
``resolve`` (name -> ModelInfo) and ``load`` (name -> separator), so this family,
like every other, never imports the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from stemsplit.core.engine.separator import EngineOptions
from stemsplit.core.errors import ModelError
from stemsplit.core.models.ensemble import spec as ensemble_spec
from stemsplit.core.models.info import ModelInfo

FAMILY = "ensemble"


Resolve = Callable[[str], ModelInfo]


def _members(spec: ensemble_spec.EnsembleSpec, resolve: Resolve) -> list[ModelInfo]:
    members = [resolve(name) for name in spec.members]
    for m in members:
        if m.family == FAMILY:
            raise ModelError(f"{m.name} is an ensemble itself; list its models instead")
    return members


def info_for(name: str, spec: ensemble_spec.EnsembleSpec, resolve: Resolve) -> ModelInfo:
    """The ``ModelInfo`` of an ensemble; ModelError when its members share no stem."""
    from stemsplit.core.models.ensemble.engine import shared_stems

    members = _members(spec, resolve)
    combined, rest = shared_stems(members)
    if not combined:
        listing = "; ".join(f"{m.name}: {', '.join(m.stems)}" for m in members)
        raise ModelError(f"the models of {name} share no stem to combine ({listing})")
    licences = "; ".join(dict.fromkeys(m.licence for m in members))
    how = {"avg": "average", "max_spec": "max spectrogram",
           "min_spec": "min spectrogram"}[spec.method]
    return ModelInfo(
        name=name, title=f"Ensemble ({how}): {' + '.join(spec.members)}",
        stems=(*combined, rest), load_weights=lambda: spec,
        is_installed=lambda: all(m.is_installed() for m in _members(spec, resolve)),
        licence=licences, family=FAMILY)


def lookup(name: str, resolve: Resolve) -> ModelInfo | None:
    """An ensemble spec or saved preset by name; None when ``name`` is neither."""
    if ensemble_spec.is_spec(name):
        return info_for(name, ensemble_spec.parse(name), resolve)
    preset = ensemble_spec.presets().get(name)
    return None if preset is None else info_for(name, preset, resolve)


def preset_models(resolve: Resolve) -> list[ModelInfo]:
    """The saved presets whose members are all known (one model box entry each)."""
    out = []
    for name, spec in ensemble_spec.presets().items():
        try:
            out.append(info_for(name, spec, resolve))
        except ModelError:
            continue
    return out


def engine(info: ModelInfo, device: str = "auto", options: EngineOptions | None = None, *,
           resolve: Resolve, load: Callable):
    """The family's engine factory (``models.registry.load_separator``, which hands in
    its ``get_model`` as ``resolve`` and itself as ``load``)."""
    from stemsplit.core.engine.device import resolve_device
    from stemsplit.core.models.ensemble.engine import EnsembleSeparator

    spec = info.load_weights()
    members = _members(spec, resolve)
    for m in members:
        if not m.is_installed():
            raise ModelError(f"{m.name}, a model of the ensemble {info.name}, is not "
                             f"installed; install it with 'stemsplit models install {m.name}'")
    options = options or EngineOptions()
    members_options = replace(options, wiener_iterations=0)  # applied once, to the result
    return EnsembleSeparator(info, spec, members,
                             lambda name: load(name, device, members_options),
                             resolve_device(device), options)
