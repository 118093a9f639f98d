"""Exceptions the engine raises on purpose; each carries a message fit for a user."""


class StemsplitError(Exception):
    """Base class: the message is shown to users as it is."""


class AudioLoadError(StemsplitError):
    """A file could not be decoded (missing, empty, corrupt, unsupported)."""


class AudioWriteError(StemsplitError):
    """An output could not be written (disk full, read-only folder, exists)."""


class ModelError(StemsplitError):
    """Model weights are missing or do not match the architecture."""


class Cancelled(StemsplitError):
    """A run was cancelled through its threading.Event."""

    def __init__(self, message: str = "Cancelled") -> None:
        super().__init__(message)


class StemsplitWarning(UserWarning):
    """Something a user should know that does not stop the work (a cache that cannot be
    written, a truncated file). The CLI prints these as ``warning: ...`` lines."""


# Bidirectional overrides and line separators: not control characters to Unicode, but a
# name holding them can still reorder or break the line a terminal shows.
_INVISIBLE = {*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)),
              "\u2028", "\u2029", "\u200e", "\u200f"}
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def shown(value: object) -> str:
    """``value`` (a path or text) safe to print: control characters escaped.

    A file name can hold newlines or terminal escape sequences (which can retitle
    or clear a terminal) and, on POSIX, bytes that are not UTF-8 (which Python
    keeps as lone surrogates and no terminal encoding can print). These become
    visible escapes: ``\\n``, ``\\x1b``, ``\\xe9``.
    """
    import os
    import unicodedata

    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    if text.isprintable() and text.isascii():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _NAMED:
            out.append(_NAMED[ch])
        elif 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for an undecodable byte
            out.append(f"\\x{code - 0xDC00:02x}")
        elif unicodedata.category(ch) in ("Cc", "Cs") or ch in _INVISIBLE:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


class DatasetError(StemsplitError):
    """A folder of reference stems (or of estimates) cannot be scored as it is."""
