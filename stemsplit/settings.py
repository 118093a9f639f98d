"""User preferences and paths (platformdirs); no Qt.

Preferences live in one JSON file written atomically. Tests redirect every
path with the ``STEMSPLIT_HOME`` environment variable.

The file is the user's (or an older or newer version's, or a damaged disk's),
so nothing in it is trusted: every key the app reads is listed in
:data:`SCHEMA` with its default and a check, and :meth:`Settings.get` returns
the default for a value that fails its check. One bad value never costs the
other keys; the keys reset that way are logged once, when the file is read
(:attr:`Settings.reset_keys`), and dropped from it. Only a regular file is read
(never a FIFO or a device, which could block or never end), at most
:data:`MAX_FILE_BYTES` of it. A file that cannot be read at all (not JSON, nested too deep for
the parser, larger than :data:`MAX_FILE_BYTES`) is set aside as
``settings.corrupt.json`` and the app starts from the defaults.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import platformdirs

from stemsplit.setting_values import (  # the checks of each key's value
    MAX_SPEEDS,  # noqa: F401 (part of this module's constants)
    MAX_TEXT,
    _bool,
    _fraction,
    _hex_blob,
    _nonempty,
    _one_of,
    _optional_name,
    _speed_table,
    _text_list,
)

APP = "stemsplit"
log = logging.getLogger(__name__)

MAX_FILE_BYTES = 1 << 20  # ours is a few kB; anything this large is not a preferences file
MAX_DEPTH = 16            # no setting of ours nests deeper; deeper values are dropped on read
MAX_RECENT = 10           # File > Open Recent entries
MAX_STEMS = 64            # names in export.unchecked_stems
MAX_LICENCES = 32         # keys in licences.accepted (core.licences; one per weights family)
MAX_INT_DIGITS = 64       # longer integers read as infinity (never a valid value of ours)

# Choices the app offers; tests/test_settings.py checks they match the widgets and core.
DEVICES = ("auto", "cpu", "cuda", "mps")      # stemsplit.core.engine.device.DEVICE_CHOICES
PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # stemsplit.core.engine.precision.PRECISION_CHOICES
SCALES = ("log", "linear")                    # gui.stem_list scale box
EXPORT_FORMATS = ("wav", "flac", "aiff")      # gui.export_dialog.FORMATS
EXPORT_DEPTHS = ("16", "24", "32f")           # gui.export_dialog.DEPTHS
EXPORT_RATES = (0, 44100, 48000)              # gui.export_dialog.RATES (0: the song's own)


def home_override() -> Path | None:
    """``$STEMSPLIT_HOME`` (tests put every file of ours under it), None when unset."""
    value = os.environ.get("STEMSPLIT_HOME")
    return Path(value) if value else None


def config_dir() -> Path:
    home = home_override()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    """Where the window keeps what it must not lose (crash-recovery snapshots)."""
    home = home_override()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP))


def cache_dir() -> Path:
    """Where downloaded and converted models live."""
    home = home_override()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP))


class Setting(NamedTuple):
    """What a key holds when the file has nothing usable, and how a stored value is checked."""

    default: Any
    check: Callable[[Any], Any]


SCHEMA: dict[str, Setting] = {
    # main window (gui/main_window.py, gui/preferences.py, gui/menus.py)
    "gui.geometry": Setting(None, _hex_blob),
    "gui.model": Setting(None, _nonempty(100)),  # an unknown name falls back to the first model
    "gui.device": Setting("auto", _one_of(*DEVICES)),
    "gui.precision": Setting("auto", _one_of(*PRECISIONS)),  # the network's number format
    "gui.scale": Setting("log", _one_of(*SCALES)),
    "gui.opacity": Setting(0.75, _fraction),
    "gui.recent_files": Setting([], _text_list(MAX_RECENT)),
    # each model's last run here, shown in the model box (gui/models/hints.py)
    "gui.model_speed": Setting({}, _speed_table),
    # ask before closing over a finished separation or mixer changes (gui/project_glue.py)
    "gui.ask_unsaved_run": Setting(True, _bool),
    # the last folder of each file dialog (gui/common/folders.py)
    "gui.project_folder": Setting(None, _nonempty(MAX_TEXT)),
    "gui.open_folder": Setting(None, _nonempty(MAX_TEXT)),
    # playback (gui/playback/glue.py, playback/devices.py)
    "gui.follow_playhead": Setting(True, _bool),
    "gui.wiener": Setting(False, _bool),
    "playback.device": Setting(None, _optional_name),
    # export dialog (gui/export/dialog.py)
    "export.format": Setting("wav", _one_of(*EXPORT_FORMATS)),
    "export.bit_depth": Setting("24", _one_of(*EXPORT_DEPTHS)),
    "export.rate": Setting(0, _one_of(*EXPORT_RATES)),
    "export.folder": Setting(None, _nonempty(MAX_TEXT)),
    "export.pattern": Setting("<song> - <stem>", _nonempty(1000)),  # core.export.DEFAULT_PATTERN
    "export.unchecked_stems": Setting([], _text_list(MAX_STEMS, 100)),
    "export.mix": Setting(False, _bool),
    # licence terms the user accepted before a download (core/models/licences.py): their keys
    "licences.accepted": Setting([], _text_list(MAX_LICENCES, 100)),
    # saved ensembles, "NAME=A+B@method" (core/models/ensemble/spec.py)
    "models.ensembles": Setting([], _text_list(100, 1000)),
}

UNSET: Any = object()  # "no default given" (None is a real default)


def clean(key: str, value: Any, default: Any = UNSET) -> Any:
    """``value`` if it passes ``key``'s check (possibly trimmed), else the default.

    Unknown keys pass unchanged. ``default`` replaces the schema's default when given.
    """
    spec = SCHEMA.get(key)
    if spec is None:
        return value
    try:
        return spec.check(value)
    except ValueError:
        return copy.deepcopy(spec.default if default is UNSET else default)


def _depth_at_most(value: Any, limit: int) -> bool:
    """Whether ``value`` nests no deeper than ``limit`` (iterative: no recursion to blow)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def _parse_int(digits: str) -> int | float:
    # Python refuses to convert integers over 4300 digits: a ValueError for the whole file.
    if len(digits) > MAX_INT_DIGITS:
        return -math.inf if digits.startswith("-") else math.inf
    return int(digits)


def _passes(key: str, value: Any) -> bool:
    spec = SCHEMA.get(key)
    if spec is None:
        return True
    try:
        spec.check(value)
    except ValueError:
        return False
    return True


class NotRegularFile(OSError):
    """The settings path is a FIFO, a device or a folder: never read (it could block)."""


def _read_regular(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file (ValueError when it holds more).

    Opened without blocking and checked on the open descriptor, so a FIFO or a link
    to ``/dev/zero`` is refused before a byte is read and a swap cannot slip in.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a folder" if stat.S_ISDIR(mode) else
                    "a FIFO" if stat.S_ISFIFO(mode) else "a device or other special file")
            raise NotRegularFile(f"{kind}, not a regular file")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if total > limit:
        raise ValueError("too large")
    return b"".join(chunks)


class Settings:
    """A small persistent key -> JSON value store.

    Keys are dotted names by convention (``window.geometry``, ``export.format``).
    Values must be JSON-serialisable. Keys in :data:`SCHEMA` are checked on every
    read and write; other keys are kept as they are (unless absurdly nested). A
    corrupt file is set aside, never fatal.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "settings.json"
        self.reset_keys: list[str] = []  # keys whose stored values were unusable (reset)
        self._data: dict[str, Any] = self._read()

    def _read(self) -> dict[str, Any]:
        try:
            raw = _read_regular(self.path, MAX_FILE_BYTES)
            data = json.loads(raw.decode("utf-8"), parse_int=_parse_int)
        except FileNotFoundError:
            return {}
        except NotRegularFile as exc:
            # A FIFO would hang the start, /dev/zero fill the memory: not ours to move.
            log.warning("settings file %s is %s; starting from defaults", self.path, exc)
            return {}
        except (OSError, ValueError, RecursionError, MemoryError) as exc:
            # ValueError covers bad JSON and bad UTF-8; RecursionError deeply nested arrays.
            log.warning("settings file %s is unreadable (%s); starting from defaults",
                        self.path, type(exc).__name__)
            self._set_aside()
            return {}
        if not isinstance(data, dict):
            self._set_aside()
            return {}
        data = {k: v for k, v in data.items() if _depth_at_most(v, MAX_DEPTH)}
        self.reset_keys = sorted(k for k, v in data.items() if not _passes(k, v))
        if self.reset_keys:
            # Said once, here: the bad values are dropped, so the next start is quiet.
            log.warning("settings file %s: unusable values reset to their defaults: %s",
                        self.path, ", ".join(self.reset_keys))
            for key in self.reset_keys:
                del data[key]
        return data

    def _set_aside(self) -> None:
        try:  # keep the broken file for inspection, start fresh
            self.path.replace(self.path.with_suffix(".corrupt.json"))
        except OSError:
            pass

    def get(self, key: str, default: Any = UNSET) -> Any:
        """The stored value, or the default when it is missing or fails its check.

        ``default`` replaces the schema's default for this call; for keys outside
        the schema it is returned when the key is missing (None when not given).
        """
        if key not in self._data:
            if default is not UNSET:
                return default
            spec = SCHEMA.get(key)
            return copy.deepcopy(spec.default) if spec else None
        return clean(key, self._data[key], default)

    def set(self, key: str, value: Any) -> None:
        self._put(key, value)
        self.save()

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            self._put(key, value)
        self.save()

    def _put(self, key: str, value: Any) -> None:
        if key in SCHEMA:
            try:
                value = SCHEMA[key].check(value)
            except ValueError:
                # e.g. a folder path longer than any file system allows: forget it
                self._data.pop(key, None)
                return
        self._data[key] = value

    def save(self) -> None:
        """Write atomically; a failure to save preferences is never fatal."""
        try:
            text = json.dumps(self._data, indent=2, sort_keys=True)
        except (TypeError, ValueError, RecursionError) as exc:
            log.warning("settings not saved: %s", exc)
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".settings.", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                os.replace(tmp, self.path)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except OSError:
            pass
