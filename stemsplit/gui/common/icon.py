"""The application icon, found beside the package or in the source tree."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon, QPixmap

_NAMES = ("stemsplit.svg", "stemsplit.png")


def resource_path(name: str) -> Path | None:
    """Installed package data (stemsplit/resources) first, then the repository's resources/."""
    here = Path(__file__).resolve().parent
    for folder in (here.parents[1] / "resources", here.parents[2] / "resources"):
        if (folder / name).is_file():
            return folder / name
    return None


def icon_path() -> Path | None:
    return next((p for p in map(resource_path, _NAMES) if p is not None), None)


@cache
def app_icon() -> QIcon:
    """The icon at the usual sizes (an empty icon if the file is missing)."""
    path = icon_path()
    if path is None:
        return QIcon()
    icon = QIcon()
    source = QIcon(str(path))
    for size in (16, 24, 32, 48, 64, 128, 256):
        icon.addPixmap(source.pixmap(QSize(size, size)))
    return icon


def icon_pixmap(size: int = 64) -> QPixmap:
    return app_icon().pixmap(QSize(size, size))
