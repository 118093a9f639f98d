"""What the window remembers between runs, kept in the settings module's JSON store.

Every ``gui.*`` key is checked by ``stemsplit.settings.SCHEMA``: whatever the
file holds, a getter here returns a value of the right type and range.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stemsplit.settings import MAX_RECENT, UNSET, Settings

__all__ = ["MAX_RECENT", "Preferences"]


class Preferences:
    """Typed access to the window's keys in ``stemsplit.settings.Settings``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    def recent_files(self) -> list[str]:
        return self.settings.get("gui.recent_files")

    def add_recent(self, path: str | Path) -> list[str]:
        path = str(Path(path).resolve())
        files = [path] + [p for p in self.recent_files() if p != path]
        self.settings.set("gui.recent_files", files[:MAX_RECENT])
        return self.recent_files()

    def clear_recent(self) -> None:
        self.settings.set("gui.recent_files", [])

    def get(self, key: str, default: Any = UNSET) -> Any:
        """``gui.<key>``, checked; the schema's default unless ``default`` is given."""
        return self.settings.get(f"gui.{key}", default)

    def set(self, key: str, value: Any) -> None:
        self.settings.set(f"gui.{key}", value)
