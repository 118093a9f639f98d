"""HT-Demucs weights: demucs's pickled checkpoints read safely, our safetensors format.

A demucs checkpoint is a ``torch.save``d dict ``{'klass', 'args', 'kwargs', 'state',
'training_args'}`` where ``klass`` is the model class itself, ``kwargs`` may
hold a ``fractions.Fraction`` and ``state`` is a (usually float16) state dict.
It is read with ``torch.load(weights_only=True)``: torch's restricted unpickler,
which builds only tensors and plain containers, plus an allow-list of exactly
what such a file needs: ``Fraction`` (a value), and demucs's class *names*
mapped to inert stand-in classes (nothing of demucs is imported or run). Any
other global, ``os.system`` say, makes the load fail.

Installed models are converted once into one safetensors file (tensors
``m<i>.<key>`` for bag member ``i``; each member's hyper-parameters as JSON in
the metadata), which loads without any unpickling at all.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import torch

from stemsplit.core.errors import ModelError
from stemsplit.core.models.htdemucs.apply import Bag
from stemsplit.core.models.htdemucs.config import HTDemucsConfig
from stemsplit.core.models.htdemucs.model import HTDemucs
from stemsplit.core.models.weights_file import write_atomically

FORMAT = "stemsplit-htdemucs-1"


class DemucsClass:
    """Inert stand-in for a model class a demucs checkpoint names (never instantiated)."""

    qualified_name = ""


class _HTDemucsName(DemucsClass):
    qualified_name = "demucs.htdemucs.HTDemucs"


class _HDemucsName(DemucsClass):
    qualified_name = "demucs.hdemucs.HDemucs"


class _DemucsName(DemucsClass):
    qualified_name = "demucs.demucs.Demucs"


_SAFE_GLOBALS = [Fraction] + [(cls, cls.qualified_name)
                              for cls in (_HTDemucsName, _HDemucsName, _DemucsName)]


@dataclass
class Member:
    """One network of a bag: its hyper-parameters and weights (``key -> tensor``)."""

    config: HTDemucsConfig
    state: dict[str, torch.Tensor]

    def build(self, dtype: torch.dtype = torch.float32) -> HTDemucs:
        """An ``HTDemucs`` in inference mode with these weights (cast to ``dtype``).

        Raises:
            ModelError: the weights do not fit the architecture.
        """
        model = HTDemucs(self.config)
        try:
            model.load_state_dict({k: v.to(dtype) for k, v in self.state.items()}, strict=True)
        except RuntimeError as exc:
            raise ModelError(f"the HT-Demucs weights do not fit their architecture: "
                             f"{str(exc).splitlines()[0]}") from exc
        model.eval()
        model.requires_grad_(False)
        return model


@dataclass
class BagFile:
    """What an installed model file holds: members, bag weights and segment."""

    members: list[Member]
    weights: list[list[float]]
    segment: float | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return self.members[0].config.sources

    def build(self) -> Bag:
        return Bag([m.build() for m in self.members], self.weights).with_segment(self.segment)


def read_demucs_checkpoint(path: Path) -> Member:
    """Read one demucs ``.th`` file without running any code from it.

    Raises:
        ModelError: not a readable checkpoint, a pickle that asks for anything
            beyond tensors, containers and the allowed names, a model other than
            HT-Demucs, or quantized (diffq) weights.
    """
    try:
        with torch.serialization.safe_globals(_SAFE_GLOBALS):
            package = torch.load(str(path), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError,
            ValueError, AttributeError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"{path.name} is not a demucs checkpoint that can be read safely "
                         f"({first})") from exc
    if not isinstance(package, dict) or not {"klass", "kwargs", "state"} <= set(package):
        raise ModelError(f"{path.name} is not a demucs model checkpoint")
    klass = package["klass"]
    if klass is not _HTDemucsName:
        name = getattr(klass, "qualified_name", repr(klass))
        raise ModelError(f"{path.name} holds a {name} model; stemsplit runs HT-Demucs only")
    state = package["state"]
    if not isinstance(state, dict) or state.get("__quantized"):
        raise ModelError(f"{path.name} holds quantized weights, which stemsplit cannot run")
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ModelError(f"{path.name} has a malformed state dict")
    kwargs = package["kwargs"]
    args = package.get("args") or ()
    if not isinstance(kwargs, dict) or not isinstance(args, (list, tuple)):
        raise ModelError(f"{path.name} has malformed model arguments")
    return Member(HTDemucsConfig.from_kwargs(kwargs, args), dict(state))


# -- our own file ---------------------------------------------------------------------------


def write_bag(path: Path, name: str, bag: BagFile, extra: dict[str, str] | None = None) -> None:
    """Save a bag in our safetensors layout, atomically (weights kept in their dtype)."""
    from safetensors.torch import save_file

    tensors = {f"m{i}.{key}": value.detach().cpu().contiguous()
               for i, member in enumerate(bag.members) for key, value in member.state.items()}
    meta = {"format": FORMAT, "model": name, "members": str(len(bag.members)),
            "weights": json.dumps(bag.weights),
            "segment": "" if bag.segment is None else repr(float(bag.segment)),
            **{f"config{i}": m.config.to_json() for i, m in enumerate(bag.members)},
            **(extra or {})}
    write_atomically(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))


def read_bag(path: Path, name: str) -> BagFile:
    """Read what :func:`write_bag` wrote; ModelError when damaged or another model's."""
    from safetensors import SafetensorError, safe_open

    hint = f"reinstall it with 'stemsplit models install {name}'"
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            tensors = {key: fh.get_tensor(key) for key in fh.keys()}
    except (SafetensorError, OSError) as exc:
        raise ModelError(f"the {name} weights at {path} are damaged ({exc}); {hint}") from exc
    if meta.get("format") != FORMAT or meta.get("model") != name:
        raise ModelError(f"{path} does not hold the {name} model; {hint}")
    try:
        n = int(meta["members"])
        configs = [HTDemucsConfig.from_json(meta[f"config{i}"]) for i in range(n)]
        weights = json.loads(meta["weights"])
        segment = float(meta["segment"]) if meta.get("segment") else None
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"the {name} weights at {path} are damaged ({exc}); {hint}") from exc
    states: list[dict[str, torch.Tensor]] = [{} for _ in range(n)]
    for key, value in tensors.items():
        index, _, param = key.partition(".")
        try:
            states[int(index.removeprefix("m"))][param] = value
        except (ValueError, IndexError):
            raise ModelError(f"the {name} weights at {path} are damaged; {hint}") from None
    return BagFile([Member(c, s) for c, s in zip(configs, states, strict=True)], weights, segment)
