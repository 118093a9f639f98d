"""What a project's ``manifest.json`` may hold: one table of fields, each with its check.

A project file is something a user can be handed, so nothing in it is trusted.
:func:`check_manifest` runs every field of :data:`FIELDS` in order (later checks
see the values already checked: ``length`` is bounded by ``sample_rate``, the
edits by the song's duration and stems) and returns the cleaned values. A value
that would cost the user the project if refused but only a setting if reset (a
fader, the view) is reset with a note instead; a value the audio depends on
(rate, channels, length, stems, edits) makes the whole file "damaged".

Adding a field is one line in :data:`FIELDS` (or :data:`VIEW_FIELDS`,
:data:`MIXER_FIELDS`) with a check from the small set below.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stemsplit.core.editing.edits import Edit

# What the engine and the window support; a project outside these is not one of ours.
MIN_RATE, MAX_RATE = 1_000, 768_000
MAX_CHANNELS = 2                 # core.audio.read.MAX_CHANNELS: mono or stereo
MAX_SECONDS = 6 * 3600           # longest song a project may hold
MAX_STEMS = 16
MAX_NAME = 100                   # characters of a stem or model name
MAX_PATH = 4096
MAX_EDITS = 100_000
MAX_POINTS = 100_000             # brush or lasso points of one edit (lassos are then thinned)
MAX_SCALE = 100.0                # a scale edit's factor (+40 dB); the tool offers up to 4
MAX_OCTAVES = 20.0
MIN_GAIN_DB, MAX_GAIN_DB = -120.0, 24.0
SCALES = ("log", "linear")


class Invalid(ValueError):
    """A manifest value failed its check; the message names it for a user."""


@dataclass(frozen=True)
class Field:
    """One manifest key.

    Attributes:
        check: ``(value, checked) -> cleaned value``; raises :class:`Invalid`.
            ``checked`` holds the fields checked before this one.
        default: used when the key is missing (``REQUIRED``: then the file is damaged).
        soft: a failed check resets the value to ``default`` with a note instead of
            refusing the file.
    """

    check: Callable[[Any, dict], Any]
    default: Any = None
    soft: bool = False


REQUIRED: Any = object()


# -- checks ---------------------------------------------------------------------------------


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def integer(lo: int, hi: int, what: str, unit: str = "") -> Callable[[Any, dict], int]:
    def check(v: Any, _c: dict) -> int:
        if not isinstance(v, int) or isinstance(v, bool):
            raise Invalid(f"its {what} is not a whole number")
        if not lo <= v <= hi:
            raise Invalid(f"its {what} ({_short(v)}{unit}) is outside {lo}..{hi}{unit}")
        return v
    return check


def number(lo: float, hi: float, what: str) -> Callable[[Any, dict], float]:
    def check(v: Any, _c: dict) -> float:
        if not _is_number(v) or not math.isfinite(v) or not lo <= v <= hi:
            raise Invalid(f"its {what} is not a number within {lo:g}..{hi:g}")
        return float(v)
    return check


def flag(what: str) -> Callable[[Any, dict], bool]:
    def check(v: Any, _c: dict) -> bool:
        if not isinstance(v, bool):
            raise Invalid(f"its {what} is not true or false")
        return v
    return check


def text(max_len: int, what: str, *, empty: bool = True) -> Callable[[Any, dict], str]:
    def check(v: Any, _c: dict) -> str:
        if not isinstance(v, str) or len(v) > max_len or (not empty and not v.strip()):
            raise Invalid(f"its {what} is not a name of at most {max_len} characters")
        if any(ord(ch) < 32 or 0xD800 <= ord(ch) <= 0xDFFF for ch in v):
            raise Invalid(f"its {what} holds control characters")
        return v
    return check


def one_of(choices: tuple, what: str) -> Callable[[Any, dict], Any]:
    def check(v: Any, _c: dict) -> Any:
        if not isinstance(v, str) or v not in choices:
            raise Invalid(f"its {what} is not one of {', '.join(map(str, choices))}")
        return v
    return check


def _short(v: Any) -> str:
    s = str(v)
    return s if len(s) <= 24 else f"{s[:10]}…({len(s)} digits)"


def _song_path(v: Any, c: dict) -> str | None:
    return None if v is None else text(MAX_PATH, "song path", empty=False)(v, c)


def _stems(v: Any, c: dict) -> list[str]:
    if not isinstance(v, list) or not 1 <= len(v) <= MAX_STEMS:
        raise Invalid(f"its stem list is not a list of 1..{MAX_STEMS} names")
    names = [text(MAX_NAME, "stem name", empty=False)(s, c) for s in v]
    if len(set(names)) != len(names):
        raise Invalid("it names the same stem twice")
    return names


def _length(v: Any, c: dict) -> int:
    rate = c["sample_rate"]
    n = integer(1, MAX_SECONDS * rate, "length", " samples")(v, c)
    return n


def _edits(v: Any, c: dict) -> list[Edit]:
    if not isinstance(v, list) or len(v) > MAX_EDITS:
        raise Invalid(f"its edit list is not a list of at most {MAX_EDITS} edits")
    names, rate = set(c["stems"]), c["sample_rate"]
    duration = c["length"] / rate
    # Generous: a drag may start past either end of the song, never by more than the song.
    t_lim, f_lim = 2 * duration + 60.0, 4.0 * rate
    out = []
    for i, d in enumerate(v):
        try:
            _bounded_edit_json(d, t_lim, f_lim)
            edit = Edit.from_json(d)
        except (ValueError, TypeError, OverflowError) as e:
            raise Invalid(f"edit {i + 1} is unreadable ({str(e)[:120]})") from e
        if edit.stem not in names:
            raise Invalid(f"edit {i + 1} is of an unknown stem ({edit.stem[:40]!r})")
        if edit.op == "scale" and edit.amount > MAX_SCALE:
            raise Invalid(f"edit {i + 1} scales by more than {MAX_SCALE:g}")
        out.append(edit)
    return out


def _bounded_edit_json(d: Any, t_lim: float, f_lim: float) -> None:
    """Types and ranges of one edit's numbers before ``Edit.from_json`` builds anything."""
    if not isinstance(d, dict) or not isinstance(d.get("region"), dict):
        raise ValueError("not an edit")
    if not isinstance(d.get("op"), str) or not isinstance(d.get("stem"), str):
        raise ValueError("no operation or stem")
    r = d["region"]
    for key, lim in (("t0", t_lim), ("t1", t_lim), ("f0", f_lim), ("f1", f_lim),
                     ("radius_s", t_lim), ("radius_hz", f_lim), ("radius_oct", MAX_OCTAVES),
                     ("feather", 1.0)):
        if key in r and not (_is_number(r[key]) and math.isfinite(r[key])
                             and abs(r[key]) <= lim):
            raise ValueError(f"{key} is not a number within ±{lim:g}")
    for key in ("strokes", "outline"):
        pts = r.get(key, [])
        if not isinstance(pts, list) or len(pts) > MAX_POINTS:
            raise ValueError(f"{key} is not a list of at most {MAX_POINTS} points")
        for p in pts:
            if not (isinstance(p, list) and len(p) == 2 and all(
                    _is_number(x) and math.isfinite(x) for x in p)
                    and abs(p[0]) <= t_lim and abs(p[1]) <= f_lim):
                raise ValueError(f"a point of its {key} is not a (time, frequency) pair in range")
    if "log_freq" in r and not isinstance(r["log_freq"], bool):
        raise ValueError("log_freq is not true or false")
    if "amount" in d and not (_is_number(d["amount"]) and math.isfinite(d["amount"])):
        raise ValueError("amount is not a number")


def _table(fields: dict[str, Field], what: str) -> Callable[[Any, dict], dict]:
    """A dict checked key by key with ``fields``; bad entries are reset with a note."""
    def check(v: Any, c: dict) -> dict:
        if not isinstance(v, dict):
            raise Invalid(f"its {what} settings are not a table")
        return run_fields(fields, v, c, c["notes"], what)
    return check


def _mixer(v: Any, c: dict) -> dict:
    if not isinstance(v, dict):
        raise Invalid("its mixer settings are not a table")
    out = {}
    for name in c["stems"]:  # faders of stems the project does not have are dropped
        if name in v:
            if isinstance(v[name], dict):
                out[name] = run_fields(MIXER_FIELDS, v[name], c, c["notes"], f"{name} fader")
            else:
                c["notes"].append(f"the {name} fader was reset")
    return out


def _x_range(v: Any, c: dict) -> list[float]:
    """The visible time span, within the song (pyqtgraph cannot paint astronomic ranges)."""
    duration = c["length"] / c["sample_rate"]
    if not (isinstance(v, list) and len(v) == 2 and all(_is_number(x) and math.isfinite(x)
                                                        for x in v)):
        raise Invalid("its visible range is not two times")
    lo, hi = (min(max(float(x), 0.0), duration) for x in v)
    if not hi > lo:
        raise Invalid("its visible range is empty")
    return [lo, hi]


# -- the tables -----------------------------------------------------------------------------

MIXER_FIELDS: dict[str, Field] = {
    "gain_db": Field(number(MIN_GAIN_DB, MAX_GAIN_DB, "gain"), 0.0, soft=True),
    "solo": Field(flag("solo"), False, soft=True),
    "mute": Field(flag("mute"), False, soft=True),
}

VIEW_FIELDS: dict[str, Field] = {
    "scale": Field(one_of(SCALES, "frequency scale"), None, soft=True),
    "mode": Field(text(MAX_NAME, "view mode"), None, soft=True),
    "x_range": Field(_x_range, None, soft=True),
}

FIELDS: dict[str, Field] = {
    "model": Field(text(MAX_NAME, "model name"), ""),
    "song_path": Field(_song_path, None, soft=True),
    "sample_rate": Field(integer(MIN_RATE, MAX_RATE, "sample rate", " Hz"), REQUIRED),
    "stems": Field(_stems, REQUIRED),
    "channels": Field(integer(1, MAX_CHANNELS, "channel count"), REQUIRED),
    "length": Field(_length, REQUIRED),
    "last_stem_derived": Field(flag("stem layout"), False),
    "edits": Field(_edits, []),
    "mixer": Field(_mixer, {}, soft=True),
    # the loop is checked against the song by project.Loop.from_json (dropped if it misfits)
    "loop": Field(lambda v, _c: v if isinstance(v, dict) and len(v) <= 3 else None, None,
                  soft=True),
    "view": Field(_table(VIEW_FIELDS, "view"), {}, soft=True),
}


def run_fields(fields: dict[str, Field], data: dict, context: dict, notes: list[str],
               what: str = "") -> dict:
    """``data``'s values of ``fields``, checked in order; unknown keys are left out.

    Raises:
        Invalid: a required value is missing or a value that is not soft failed.
    """
    out: dict[str, Any] = {}
    ctx = {**context, **out}
    for key, spec in fields.items():
        if key not in data:
            if spec.default is REQUIRED:
                raise Invalid(f"it has no {key.replace('_', ' ')}")
            if spec.default is not None:
                out[key] = _fresh(spec.default)
        else:
            try:
                out[key] = spec.check(data[key], ctx)
            except Invalid as e:
                if not spec.soft:
                    raise
                notes.append(f"{what + ' ' if what else ''}{key.replace('_', ' ')} was reset "
                             f"({e})")
                if spec.default is not None:
                    out[key] = _fresh(spec.default)
        if key in out:
            ctx[key] = out[key]
    return out


def _fresh(default: Any) -> Any:
    return type(default)() if isinstance(default, (dict, list)) else default


def check_manifest(data: dict) -> tuple[dict, list[str]]:
    """The manifest's values (format and version already checked), and notes of what
    was reset; raises :class:`Invalid` for a value the project cannot open without."""
    notes: list[str] = []
    values = run_fields(FIELDS, data, {"notes": notes}, notes)
    return values, notes
