"""The checks of stored settings' values: each returns the value to use, or raises
ValueError (``settings`` then keeps the default and says which key was reset)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

MAX_TEXT = 4096           # longest path or name accepted from the file
MAX_SPEEDS = 200          # models in gui.model_speed (gui/models/hints.py)


# -- checks: each returns the value to use, or raises ValueError ------------------------------


def _text(value: Any, max_len: int = MAX_TEXT) -> str:
    """A string a widget or a path can hold: bounded, no control characters."""
    if not isinstance(value, str) or len(value) > max_len:
        raise ValueError("not a string of reasonable length")
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ValueError("control character or lone surrogate")
    return value


def _nonempty(max_len: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = _text(value, max_len)
        if not text.strip():
            raise ValueError("empty")
        return text
    return check


def _optional_name(value: Any) -> str | None:
    return None if value is None or value == "" else _text(value, 512)


_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


def _hex_blob(value: Any) -> str:
    """Qt's saveGeometry()/saveState() bytes as the hex text main_window writes."""
    if not isinstance(value, str) or len(value) > MAX_TEXT or not _HEX.fullmatch(value):
        raise ValueError("not hex")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not true/false")
    return value


def _one_of(*choices: Any) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        # bool is an int in Python (True == 1) and 44100.0 == 44100: compare types too.
        for choice in choices:
            if type(value) is type(choice) and value == choice:
                return choice
        raise ValueError(f"not one of {choices}")
    return check


def _fraction(value: Any) -> float:
    """A finite number in [0, 1] (NaN and 1e999, which JSON reads as inf, fail)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("not a number")
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError("not in [0, 1]")
    return float(value)


def _text_list(max_items: int, max_len: int = MAX_TEXT) -> Callable[[Any], list[str]]:
    """A list of strings: bad entries are skipped, the rest capped at ``max_items``."""
    def check(value: Any) -> list[str]:
        if not isinstance(value, list):
            raise ValueError("not a list")
        out: list[str] = []
        for item in value:
            try:
                text = _text(item, max_len)
            except ValueError:
                continue
            if text and text not in out:
                out.append(text)
                if len(out) == max_items:
                    break
        return out
    return check


def _positive(value: Any, limit: float = 1e7) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("not a number")
    if not (math.isfinite(value) and 0.0 < value <= limit):
        raise ValueError("not a positive number")
    return float(value)


def _speed_table(value: Any) -> dict[str, dict]:
    """Model name -> its last run here: device, song and run seconds, seconds per minute.

    Bad entries are skipped, the rest capped at MAX_SPEEDS (the newest, last, kept).
    """
    if not isinstance(value, dict):
        raise ValueError("not a table")
    out: dict[str, dict] = {}
    for name, entry in value.items():
        try:
            _nonempty(1000)(name)
            if not isinstance(entry, dict):
                raise ValueError("not a table")
            out[name] = {"device": _nonempty(40)(entry.get("device")),  # "cpu · bf16"
                         **{k: _positive(entry.get(k)) for k in ("song_s", "run_s", "s_per_min")}}
        except ValueError:
            continue
    return dict(list(out.items())[-MAX_SPEEDS:])
