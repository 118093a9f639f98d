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
the metadata, and a SHA-256 of the tensors), which loads without any unpickling
at all. Every hyper-parameter is checked against sane bounds
(``HTDemucsConfig.check_bounds``) and every weight must be finite and of a sane
magnitude, in a checkpoint and in our own file alike (a file edited by hand is
as hostile as a crafted download).
"""

from __future__ import annotations

import hashlib
import json
import math
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
from stemsplit.core.models.safe_files import open_regular
from stemsplit.core.models.weights_file import CHECKSUM_KEY, write_atomically

FORMAT = "stemsplit-htdemucs-1"
# Trained weights stay far below this; 1e30 means a damaged or crafted file.
MAX_WEIGHT = 1e5
MAX_MEMBERS = 16
# A demucs .th file of a published model is 56-84 MB; nothing genuine is near this.
MAX_CHECKPOINT_BYTES = 1 << 30


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
        self.config.check_bounds()  # also for a config built in code, never past this point
        try:
            model = HTDemucs(self.config)
            model.load_state_dict({k: v.to(dtype) for k, v in self.state.items()}, strict=True)
        except (RuntimeError, ValueError, IndexError, TypeError, ZeroDivisionError,
                AssertionError) as exc:
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
    with open_regular(path, MAX_CHECKPOINT_BYTES, what="demucs checkpoint") as fh:
        try:
            with torch.serialization.safe_globals(_SAFE_GLOBALS):
                package = torch.load(fh, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError,
                ValueError, AttributeError, TypeError, KeyError, IndexError, MemoryError,
                OverflowError, RecursionError, UnicodeDecodeError) as exc:
            raise ModelError(f"{path.name} is not a demucs checkpoint that can be read safely "
                             f"({_reason(exc)}); nothing was installed") from exc
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
    check_weights(state, path.name)
    kwargs = package["kwargs"]
    args = package.get("args") or ()
    if not isinstance(kwargs, dict) or not isinstance(args, (list, tuple)):
        raise ModelError(f"{path.name} has malformed model arguments")
    return Member(HTDemucsConfig.from_kwargs(kwargs, args), dict(state))


def _reason(exc: BaseException) -> str:
    """Why a load failed, in words safe to show: never torch's advice to load the file
    with ``weights_only=False`` (that would run whatever the file holds), and never
    the file's own text with terminal control codes."""
    if isinstance(exc, pickle.UnpicklingError) or "weights_only" in str(exc):
        return "it asks to run code or build objects that a model file never needs"
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    clean = "".join(ch if ch.isprintable() else "?" for ch in first)
    return clean[:160]


def check_weights(state: dict[str, torch.Tensor], what: str) -> None:
    """Raise ModelError unless every tensor is a finite float of a sane magnitude."""
    for key, value in state.items():
        if not value.is_floating_point():
            raise ModelError(f"{what} has a weight {key[:80]!r} that is not a float tensor")
        if value.numel() == 0:
            continue
        peak = float(value.detach().abs().max())
        if not math.isfinite(peak) or peak > MAX_WEIGHT:
            raise ModelError(f"{what} has NaN, infinite or absurd weights ({key[:80]}); it "
                             "is damaged or crafted")


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for key in sorted(tensors):
        value = tensors[key].detach().cpu().contiguous()
        digest.update(f"{key}\0{value.dtype}\0{tuple(value.shape)}\0".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


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
            **(extra or {}), CHECKSUM_KEY: _digest(tensors)}
    write_atomically(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))


def read_bag(path: Path, name: str) -> BagFile:
    """Read what :func:`write_bag` wrote; ModelError when damaged or another model's."""
    from safetensors import SafetensorError, safe_open

    hint = f"reinstall it with 'stemsplit models install {name}'"

    def damaged(why: str) -> ModelError:
        return ModelError(f"the {name} weights at {path} are damaged ({why}); {hint}")

    try:
        with open_regular(path, 4 * MAX_CHECKPOINT_BYTES, what="model file"):
            pass  # a FIFO or a device in the model folder must not hang the load
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            tensors = {key: fh.get_tensor(key) for key in fh.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError, MemoryError) as exc:
        raise damaged(str(exc)[:200]) from exc
    if meta.get("format") != FORMAT or meta.get("model") != name:
        raise ModelError(f"{path} does not hold the {name} model; {hint}")
    expected = meta.get(CHECKSUM_KEY)
    if expected is not None and _digest(tensors) != expected:
        raise damaged("checksum mismatch")
    try:
        n = int(meta["members"])
        if not 1 <= n <= MAX_MEMBERS:
            raise ValueError(f"{n} members")
        configs = [HTDemucsConfig.from_json(meta[f"config{i}"]) for i in range(n)]
        weights = json.loads(meta["weights"])
        segment = float(meta["segment"]) if meta.get("segment") else None
        _check_bag_values(weights, segment, n, len(configs[0].sources))
    except (KeyError, ValueError, TypeError, RecursionError, OverflowError) as exc:
        raise damaged(str(exc)[:200]) from exc
    except ModelError as exc:
        raise damaged(str(exc)) from exc
    if any(c.sources != configs[0].sources for c in configs):
        raise damaged("its members separate different stems")
    states: list[dict[str, torch.Tensor]] = [{} for _ in range(n)]
    for key, value in tensors.items():
        index, _, param = key.partition(".")
        digits = index.removeprefix("m")
        if not digits.isdigit() or int(digits) >= n or not param:
            raise damaged(f"an unexpected tensor {key[:80]!r}")
        states[int(digits)][param] = value
    try:
        check_weights({k: v for s in states for k, v in s.items()}, "the file")
    except ModelError:
        raise damaged("NaN, infinite or absurd weights") from None
    return BagFile([Member(c, s) for c, s in zip(configs, states, strict=True)], weights, segment)


def _check_bag_values(weights, segment: float | None, members: int, sources: int) -> None:
    if not isinstance(weights, list) or len(weights) != members or not all(
            isinstance(row, list) and len(row) == sources and all(
                isinstance(w, (int, float)) and not isinstance(w, bool) and math.isfinite(w)
                and 0 <= w <= 1000 for w in row) for row in weights):
        raise ValueError("bag weights that do not fit the members and stems")
    if segment is not None and not (math.isfinite(segment) and 0 < segment <= 120):
        raise ValueError(f"segment {segment}")
