"""Licence terms a user must accept before a model is downloaded, and their acceptance.

Acceptance is recorded in the user's settings (``licences.accepted``: a list of
licence keys), so it is asked for once per machine, not once per download.
What a front end needs: ``ModelInfo.licence_terms`` (the full text to show),
``ModelInfo.licence_key`` (None: nothing to accept), :func:`is_accepted` and
:func:`accept`.
"""

from __future__ import annotations

from stemsplit import settings
from stemsplit.core.errors import ModelError

SETTINGS_KEY = "licences.accepted"


class LicenceNotAccepted(ModelError):
    """A download was asked for before its licence terms were accepted."""


def accepted_keys() -> list[str]:
    value = settings.Settings().get(SETTINGS_KEY, [])
    if not isinstance(value, list):
        return []
    return [k for k in value if isinstance(k, str)]


def is_accepted(key: str | None) -> bool:
    """True when there is nothing to accept or the user accepted ``key`` before."""
    return key is None or key in accepted_keys()


def accept(key: str) -> None:
    """Record that the user accepted the terms named ``key``."""
    keys = accepted_keys()
    if key not in keys:
        settings.Settings().set(SETTINGS_KEY, [*keys, key])


def revoke(key: str) -> None:
    keys = accepted_keys()
    if key in keys:
        settings.Settings().set(SETTINGS_KEY, [k for k in keys if k != key])


def require(key: str | None, model: str, terms: str) -> None:
    """Raise LicenceNotAccepted (with the terms in the message) unless accepted."""
    if not is_accepted(key):
        raise LicenceNotAccepted(
            f"the {model} weights come with licence terms you have not accepted yet:\n"
            f"{terms}\nTo accept them, run 'stemsplit models install {model} "
            f"--accept-licence' (or accept them in the download dialog).")
