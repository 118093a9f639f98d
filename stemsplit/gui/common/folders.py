"""Which folder a file dialog opens in: never the installation, always somewhere writable.

The song's own folder is the natural place for its stems and its project, but not
when the song is the demo inside site-packages (or an app bundle), or on a read-only
disk: then the user's Music folder (or Documents, or home) is proposed instead. The
last folder used for each action (export, project, open) is remembered in settings.
"""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path

import platformdirs

import stemsplit

# settings key per action (checked by stemsplit.settings.SCHEMA)
KEYS = {"export": "export.folder", "project": "gui.project_folder", "open": "gui.open_folder"}


def installation_roots() -> list[Path]:
    """Folders that belong to the installed program, not to the user."""
    roots = [Path(stemsplit.__file__).resolve().parent, Path(sys.prefix), Path(sys.base_prefix),
             Path(sys.exec_prefix)]
    try:
        roots += [Path(p) for p in site.getsitepackages()]
    except AttributeError:  # some embedded interpreters have no site.getsitepackages
        pass
    frozen = getattr(sys, "_MEIPASS", None)  # a PyInstaller bundle
    if frozen:
        roots.append(Path(frozen))
    return [r.resolve() for r in roots if str(r)]


def inside_installation(path: str | Path) -> bool:
    p = Path(path).resolve()
    return any(p == root or root in p.parents for root in installation_roots())


def usable(folder: str | Path | None) -> bool:
    """An existing folder the user may write to, outside the installation."""
    if not folder:
        return False
    p = Path(folder).expanduser()
    return p.is_dir() and os.access(p, os.W_OK | os.X_OK) and not inside_installation(p)


def user_folder() -> Path:
    """The user's Music folder, else Documents, else home (whichever exists)."""
    for make in (platformdirs.user_music_dir, platformdirs.user_documents_dir):
        try:
            p = Path(make())
        except Exception:  # noqa: BLE001 - no such folder on this system
            continue
        if usable(p):
            return p
    return Path.home()


def song_folder(song_path: str | Path | None) -> Path | None:
    """The song's folder when it is a fine place to write, else None."""
    if not song_path:
        return None
    folder = Path(song_path).expanduser().absolute().parent
    return folder if usable(folder) else None


def suggest(action: str, settings, song_path: str | Path | None = None, *,
            song_first: bool = False) -> Path:
    """The folder to propose for ``action`` ("export", "project" or "open").

    Args:
        settings: ``stemsplit.settings.Settings`` (the remembered folders).
        song_path: the song the action is about, if any.
        song_first: prefer the song's folder over the remembered one (a project goes
            beside its song; stems go where the last stems went).
    """
    remembered = settings.get(KEYS[action])
    remembered = Path(remembered).expanduser() if usable(remembered) else None
    song = song_folder(song_path)
    order = (song, remembered) if song_first else (remembered, song)
    return next((p for p in order if p is not None), None) or user_folder()


def remember(action: str, settings, folder: str | Path) -> None:
    """The user chose ``folder`` for ``action``: start there next time."""
    settings.set(KEYS[action], str(Path(folder).expanduser().absolute()))
