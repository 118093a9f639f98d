"""The models stemsplit knows, by name, and the engine that runs each family.

A family (``models/spleeter``, ``models/htdemucs``) lists its models and its
engine factory in its ``catalogue``; this module only collects them, so the
engine never imports a family and a family never imports the registry.
"""

from __future__ import annotations

from collections.abc import Callable

from stemsplit.core.engine.separator import EngineOptions, Separator
from stemsplit.core.errors import ModelError
from stemsplit.core.models.classic import catalogue as classic_catalogue
from stemsplit.core.models.ensemble import catalogue as ensemble_catalogue
from stemsplit.core.models.htdemucs import catalogue as htdemucs_catalogue
from stemsplit.core.models.info import ModelInfo
from stemsplit.core.models.roformer import catalogue as roformer_catalogue
from stemsplit.core.models.roformer import custom as roformer_custom
from stemsplit.core.models.spleeter import catalogue as spleeter_catalogue
from stemsplit.core.models.spleeter import trained as spleeter_trained

EngineFactory = Callable[[ModelInfo, str, EngineOptions | None], Separator]
_ENGINES: dict[str, EngineFactory] = {
    "spleeter": spleeter_catalogue.engine,
    "htdemucs": htdemucs_catalogue.engine,
    "classic": classic_catalogue.engine,
    "roformer": roformer_catalogue.engine,
    # an ensemble loads its members through this registry: it is handed our functions
    "ensemble": lambda info, device, options: ensemble_catalogue.engine(
        info, device, options, resolve=get_model, load=load_separator),
}
_MODELS: dict[str, ModelInfo] = {}


def register(info: ModelInfo) -> None:
    """Add (or replace) a model in the registry."""
    _MODELS[info.name] = info


def _trained() -> list[ModelInfo]:
    """The user's trained models, read from disk each time (training adds them)."""
    return spleeter_trained.discover(skip=set(_MODELS))


def get_model(name: str) -> ModelInfo:
    """Look a model up by name; the message lists the known ones."""
    if name in _MODELS:
        return _MODELS[name]
    trained = {m.name: m for m in _trained()}
    if name in trained:
        return trained[name]
    own = roformer_custom.lookup(name)  # the user's own RoFormer checkpoint
    if own is not None:
        return own
    ensemble = ensemble_catalogue.lookup(name, get_model)  # "A+B" or a saved preset
    if ensemble is not None:
        return ensemble
    known = ", ".join([*_MODELS, *trained])
    raise ModelError(f"unknown model {name!r}; known models: {known}")


def list_models() -> list[ModelInfo]:
    """Every model, the user's trained ones and own RoFormers, then one entry per saved
    ensemble preset."""
    trained = _trained()
    own = roformer_custom.discover(skip={*_MODELS, *(m.name for m in trained)})
    return [*_MODELS.values(), *trained, *own, *ensemble_catalogue.preset_models(get_model)]


def builtin_names() -> set[str]:
    """Names of the models stemsplit itself knows (a trained model may not take one)."""
    return set(_MODELS)


DEFAULT_MODEL = "2stems"


def load_separator(model: str | ModelInfo = DEFAULT_MODEL, device: str = "auto",
                   options: EngineOptions | None = None) -> Separator:
    """The engine of the model's family, holding the model on ``device``."""
    info = model if isinstance(model, ModelInfo) else get_model(model)
    try:
        factory = _ENGINES[info.family]
    except KeyError:
        raise ModelError(f"no engine runs the {info.family!r} family of {info.name}") from None
    return factory(info, device, options)


for _info in (spleeter_catalogue.MODELS + htdemucs_catalogue.MODELS + roformer_catalogue.MODELS
              + classic_catalogue.MODELS):
    register(_info)
