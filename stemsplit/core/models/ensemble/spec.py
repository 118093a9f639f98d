"""Ensemble specs (``A+B``, ``A*2+B@max_spec``) and the presets saved in the settings.

Grammar: members joined by ``+``; each may carry ``*WEIGHT`` (a positive number,
default 1); the whole may end in ``@METHOD`` (``avg``, ``max_spec`` or
``min_spec``; default ``avg``). Presets are stored as ``NAME=SPEC`` strings under
the settings key ``models.ensembles``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stemsplit import settings
from stemsplit.core.errors import ModelError

METHODS = ("avg", "max_spec", "min_spec")
SETTINGS_KEY = "models.ensembles"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,60}$")


@dataclass(frozen=True)
class EnsembleSpec:
    """Members (registry names), one weight each, and how their stems are combined."""

    members: tuple[str, ...]
    weights: tuple[float, ...]
    method: str = "avg"

    def text(self) -> str:
        parts = [m if w == 1 else f"{m}*{w:g}" for m, w in zip(self.members, self.weights,
                                                               strict=True)]
        return "+".join(parts) + ("" if self.method == "avg" else f"@{self.method}")


def is_spec(name: str) -> bool:
    return "+" in name


def parse(text: str) -> EnsembleSpec:
    """Parse a spec; ModelError (one sentence) when it is malformed."""
    body, _, method = text.strip().partition("@")
    method = method or "avg"
    if method not in METHODS:
        raise ModelError(f"unknown ensemble method {method!r}; choose {', '.join(METHODS)}")
    members, weights = [], []
    for part in body.split("+"):
        name, star, weight = part.strip().partition("*")
        if not name:
            raise ModelError(f"{text!r} has an empty model name; write models as A+B")
        try:
            value = float(weight) if star else 1.0
        except ValueError:
            raise ModelError(f"the weight of {name} in {text!r} is not a number") from None
        if not value > 0 or value == float("inf"):
            raise ModelError(f"the weight of {name} in {text!r} must be positive")
        members.append(name)
        weights.append(value)
    if len(members) < 2:
        raise ModelError(f"an ensemble needs two or more models, joined by '+' ({text!r})")
    if len(set(members)) != len(members):
        raise ModelError(f"{text!r} names a model twice; give it a weight instead (A*2+B)")
    return EnsembleSpec(tuple(members), tuple(weights), method)


def presets() -> dict[str, EnsembleSpec]:
    """The saved presets, by name (entries that no longer parse are skipped)."""
    out: dict[str, EnsembleSpec] = {}
    for entry in settings.Settings().get(SETTINGS_KEY, []):
        name, _, text = entry.partition("=")
        try:
            out[name] = parse(text)
        except ModelError:
            continue
    return out


def save_preset(name: str, spec: EnsembleSpec) -> None:
    """Save (or replace) a preset; the name must be a plain word (it becomes a model name)."""
    if not _NAME.match(name) or "+" in name:
        raise ModelError(f"{name!r} cannot name an ensemble: use letters, digits, '-', '_', '.'")
    kept = [e for e in settings.Settings().get(SETTINGS_KEY, [])
            if e.partition("=")[0] != name]
    settings.Settings().set(SETTINGS_KEY, [*kept, f"{name}={spec.text()}"])


def remove_preset(name: str) -> bool:
    entries = settings.Settings().get(SETTINGS_KEY, [])
    kept = [e for e in entries if e.partition("=")[0] != name]
    if len(kept) == len(entries):
        return False
    settings.Settings().set(SETTINGS_KEY, kept)
    return True
