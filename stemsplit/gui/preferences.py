"""What the window remembers between runs, kept in the settings module's JSON store."""

from __future__ import annotations

from pathlib import Path

from stemsplit.settings import Settings

MAX_RECENT = 10


class Preferences:
    """Typed access to the window's keys in ``stemsplit.settings.Settings``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    def recent_files(self) -> list[str]:
        value = self.settings.get("gui.recent_files", [])
        return [str(p) for p in value if isinstance(p, str)] if isinstance(value, list) else []

    def add_recent(self, path: str | Path) -> list[str]:
        path = str(Path(path).resolve())
        files = [path] + [p for p in self.recent_files() if p != path]
        self.settings.set("gui.recent_files", files[:MAX_RECENT])
        return files[:MAX_RECENT]

    def clear_recent(self) -> None:
        self.settings.set("gui.recent_files", [])

    def get(self, key: str, default=None):
        return self.settings.get(f"gui.{key}", default)

    def set(self, key: str, value) -> None:
        self.settings.set(f"gui.{key}", value)
