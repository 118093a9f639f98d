"""File names for exported stems: a pattern like ``<song> - <stem>``, made safe on every
file system (Windows' forbidden characters and device names, hidden or option-like
names, undecodable bytes, the 255-byte limit) and distinct per stem."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from stemsplit.core.audio.write import OutputFormat
from stemsplit.core.errors import StemsplitError
from stemsplit.core.stems import StemSet

DEFAULT_PATTERN = "<song> - <stem>"
DEFAULT_FORMAT = OutputFormat("wav", "24")
PATTERN_FIELDS = ("song", "stem", "model", "n", "rate", "bits")
MIX_STEM_NAME = "mix"

_FIELD = re.compile(r"<([^<>]*)>")
_AUDIO_SUFFIX = re.compile(r"\.(wav|wave|flac|aif|aiff)$", re.IGNORECASE)
_BAD_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME_BYTES = 200


class PatternError(StemsplitError):
    """A file-name pattern cannot produce one distinct name per stem."""


def sanitize_filename(name: str, fallback: str = "untitled") -> str:
    """Make ``name`` safe as one file name on Windows, macOS and Linux.

    Path separators and characters Windows forbids become ``_``; leading dots
    (hidden files), a leading ``-`` (read as an option by shell commands),
    trailing dots and spaces (Windows drops them) and reserved device names
    (``CON``, ``NUL``...) are defused; bytes that are not UTF-8 (a name from an
    old archive, kept by Python as lone surrogates) become ``_``; the result
    fits in ``MAX_NAME_BYTES`` of UTF-8 so an extension still fits in the
    255-byte limit. Pass the result through :func:`fs_name` before making a path.
    """
    name = _readable(name)
    name = unicodedata.normalize("NFC", name)
    name = " ".join(name.split())  # tabs and newlines become single spaces
    name = _BAD_CHARS.sub("_", name)
    name = name.lstrip(". ").rstrip(". ")
    if name.startswith("-"):
        name = "_" + name[1:]
    if name.split(".")[0].upper() in _WINDOWS_RESERVED:
        name = "_" + name
    encoded = name.encode("utf-8")[:MAX_NAME_BYTES]
    name = encoded.decode("utf-8", errors="ignore").rstrip(". ")
    return name or fallback


def _readable(name: str) -> str:
    """``name`` as real text: a name that came from the file system may hold
    surrogate escapes (bytes the file system encoding could not decode)."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        pass
    try:
        raw = os.fsencode(name)
    except UnicodeEncodeError:  # surrogates that are no escaped bytes
        raw = name.encode("utf-8", errors="replace")
    return raw.decode("utf-8", errors="replace").replace("\ufffd", "_")


def fs_name(name: str) -> str:
    """``name`` in the form the file system encoding can store.

    Under a C/POSIX locale without UTF-8 mode Python's file system encoding is
    ASCII, and ``"café"`` cannot be opened at all; its UTF-8 bytes, as surrogate
    escapes, can (and show as ``café`` in any UTF-8 terminal or file browser).
    """
    try:
        os.fsencode(name)
        return name
    except UnicodeEncodeError:
        return os.fsdecode(name.encode("utf-8"))
def what_you_hear(names: Sequence[str], gains: Sequence[float],
                  soloed: Sequence[str] = ()) -> tuple[str, str]:
    """The "what you hear" file's ``<stem>`` name and a sentence of what it holds.

    ``gains``: the mixer's effective linear gain per stem (mute and solo applied);
    ``soloed``: the stems whose solo is on. E.g. ``("vocals (solo)", "vocals alone")``,
    ``("without vocals", "everything but vocals")``, ``("mix", "the whole mix")``.
    """
    audible = [n for n, g in zip(names, gains, strict=True) if g > 0]
    if not audible:
        return "silence", "silence: every stem is muted"
    if len(audible) == len(names):
        if all(abs(g - 1.0) < 1e-6 for g in gains):
            return MIX_STEM_NAME, "the whole mix"
        return f"{MIX_STEM_NAME} (mixer levels)", "every stem, at the mixer's levels"
    listed = " + ".join(audible)
    if soloed and set(audible) <= set(soloed):
        return f"{listed} (solo)", f"{listed} alone"
    muted = [n for n in names if n not in audible]
    return f"without {' and '.join(muted)}", f"everything but {' and '.join(muted)}"


def expand_pattern(pattern: str, *, song: str, stem: str, fmt: OutputFormat = DEFAULT_FORMAT,
                   model: str = "", n: int = 1, rate: int = 44100) -> str:
    """One file name (with extension) from a pattern like ``<song> - <stem>``.

    Fields: ``<song> <stem> <model> <n>`` (stem number from 1) ``<rate>`` (Hz)
    ``<bits>`` (16, 24, 32f). An audio extension typed at the end of the
    pattern is replaced by the chosen format's.

    Raises:
        PatternError: unknown field or an empty pattern.
    """
    body = _AUDIO_SUFFIX.sub("", pattern.strip())
    if not body:
        raise PatternError("the file-name pattern is empty")
    values = {"song": song, "stem": stem, "model": model, "n": str(n), "rate": str(rate),
              "bits": fmt.bit_depth}

    def field(match: re.Match[str]) -> str:
        key = match.group(1).strip().lower()
        if key not in values:
            raise PatternError(f"unknown field <{match.group(1)}> in the file-name pattern; "
                               f"use {' '.join(f'<{f}>' for f in PATTERN_FIELDS)}")
        # Field values are sanitised on their own so a "/" in a title cannot make folders.
        return sanitize_filename(values[key], fallback="_")

    # A long title gives up its end, not the stem's name: cutting the whole name
    # would give every stem of a long-named song the same file name.
    excess = len(_FIELD.sub(field, body).encode("utf-8")) - MAX_NAME_BYTES
    uses = sum(m.group(1).strip().lower() == "song" for m in _FIELD.finditer(body))
    if excess > 0 and uses:
        title = sanitize_filename(song, fallback="_").encode("utf-8")
        keep = max(len(title) - -(-excess // uses), 1)  # ceil: every <song> gives its share
        values["song"] = title[:keep].decode("utf-8", errors="ignore")
    return f"{sanitize_filename(_FIELD.sub(field, body))}.{fmt.extension}"


def preview_names(pattern: str, song: str, stems: Iterable[str],
                  fmt: OutputFormat = DEFAULT_FORMAT, model: str = "",
                  rate: int = 44100) -> list[str]:
    """The file names an export would write, checked to be distinct.

    Raises:
        PatternError: bad field, or two stems would get the same name (compared
            case-insensitively, as macOS and Windows do).
    """
    stems = list(stems)
    names = [expand_pattern(pattern, song=song, stem=s, fmt=fmt, model=model, n=i + 1,
                            rate=rate) for i, s in enumerate(stems)]
    return _distinct(names)


def _distinct(names: list[str]) -> list[str]:
    if len({n.casefold() for n in names}) < len(names):
        raise PatternError("the file-name pattern gives several stems the same name; "
                           "include <stem> or <n>")
    return names


def song_name(stemset: StemSet, fallback: str = "song") -> str:
    """The song's name for file names: ``meta['song']``, else the source file's stem."""
    if stemset.meta.get("song"):
        return str(stemset.meta["song"])
    if stemset.meta.get("path"):
        return Path(str(stemset.meta["path"])).stem
    return fallback
