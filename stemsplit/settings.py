"""User preferences and paths (platformdirs); no Qt.

Preferences live in one JSON file written atomically. Tests redirect every
path with the ``STEMSPLIT_HOME`` environment variable.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import platformdirs

APP = "stemsplit"


def _home_override() -> Path | None:
    value = os.environ.get("STEMSPLIT_HOME")
    return Path(value) if value else None


def config_dir() -> Path:
    home = _home_override()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP))


def cache_dir() -> Path:
    """Where downloaded and converted models live."""
    home = _home_override()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP))


class Settings:
    """A small persistent key -> JSON value store.

    Keys are dotted names by convention (``window.geometry``, ``export.format``).
    Values must be JSON-serialisable. A corrupt file is set aside, never fatal.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "settings.json"
        self._data: dict[str, Any] = self._read()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            try:  # keep the broken file for inspection, start fresh
                self.path.replace(self.path.with_suffix(".corrupt.json"))
            except OSError:
                pass
            return {}

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self._data[key] = value
        self.save()

    def update(self, values: dict[str, Any]) -> None:
        self._data.update(values)
        self.save()

    def save(self) -> None:
        """Write atomically; a failure to save preferences is never fatal."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".settings.", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self._data, fh, indent=2, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError:
            pass
