"""Project files: a separated song with its edits, reopened without a re-separation.

A ``.stemsplit`` project is one zip file:

- ``manifest.json``: ``format`` ("stemsplit-project"), ``version``, song path,
  model, sample rate, stem names, channels and length, the edits
  (``Edit.to_json``), the mixer and view settings (any JSON the GUI gives);
- ``mix.npy`` and ``stem_<i>.npy``: ``(channels, n)`` float32 arrays (lossless).
  The last stem is stored only when it is not bit-for-bit ``mix`` minus the
  others (the engines make it so), which saves one stem's worth of space.
  Stored, not compressed: deflate saves ~10 % on float audio at many times
  the writing time. About 21 MB per stem-minute of stereo at 44.1 kHz.

The mix is stored, so a project opens even when the song has moved, and
``MaskEditor(project.mix, project.stems).replay(project.edits)`` gives back
the edited stems bit for bit.

    save_project(path, song_path=..., model=..., stems=base, edits=editor.history,
                 mixer={...}, view={...}, mix=mix)
    p = load_project(path)
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stemsplit.core.audio.partials import sweep_files, temp_file
from stemsplit.core.editing.editor import Edit
from stemsplit.core.errors import StemsplitError
from stemsplit.core.stems import StemSet

EXTENSION = ".stemsplit"
FORMAT = "stemsplit-project"
VERSION = 1


class ProjectError(StemsplitError):
    """A project could not be read or written; the message says why, for a user."""


@dataclass
class Project:
    """An opened project.

    Attributes:
        path: where it was read from.
        song_path: the song as it was when saved (may be missing or moved now).
        model: the model name that separated it.
        stems: the base (unedited) stems, ``(channels, n)`` float32 each.
        mix: ``(channels, n)`` float32, what the stems sum to.
        edits: the edits to replay on the base stems, in order.
        mixer, view: the GUI's settings as saved (plain JSON).
        version: the file's format version.
    """

    path: Path
    song_path: Path | None
    model: str
    stems: StemSet
    mix: np.ndarray
    edits: list[Edit] = field(default_factory=list)
    mixer: dict = field(default_factory=dict)
    view: dict = field(default_factory=dict)
    version: int = VERSION

    @property
    def song_found(self) -> bool:
        """Whether the song is still where it was when saved."""
        return self.song_path is not None and self.song_path.is_file()


MANIFEST = "manifest.json"


def save_project(path: str | Path, *, song_path: str | Path | None, model: str,
                 stems: StemSet, edits: list[Edit], mixer: dict | None = None,
                 view: dict | None = None, mix: np.ndarray | None = None) -> Path:
    """Write a project atomically (temporary file beside it, then rename).

    Args:
        path: the project file; ``.stemsplit`` is added when it has no suffix.
            An older project there is replaced only once the new one is complete;
            any other existing file is never replaced.
        song_path: the song's file (stored as an absolute path).
        model: the model's name.
        stems: the base (unedited) stems.
        edits: ``MaskEditor.history``.
        mixer, view: JSON-safe dicts.
        mix: ``(channels, n)`` float32 the stems sum to; default: their sum.

    Returns:
        The path written.

    Raises:
        ProjectError: the path is the song or another file that is not a project,
            the folder is not writable, the disk is full, or settings are not
            JSON-safe; nothing is left under ``path`` then (an older project there
            is kept as it was).
    """
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(EXTENSION)
    _check_target(path, song_path)
    names = stems.names
    arrays = [np.ascontiguousarray(stems.stems[k], dtype=np.float32) for k in names]
    if not arrays or any(a.ndim != 2 or a.shape != arrays[0].shape for a in arrays):
        raise ProjectError("a project needs stems of one shape (channels, samples)")
    mix = (np.sum(np.stack(arrays), axis=0, dtype=np.float32) if mix is None
           else np.ascontiguousarray(mix, dtype=np.float32))
    if mix.shape != arrays[0].shape:
        raise ProjectError(f"the mix is shaped {mix.shape}, the stems {arrays[0].shape}")
    # The engines make the last stem exactly mix minus the others; then it need not be stored.
    derived = len(arrays) > 1 and _last_is_mix_minus_others(arrays, mix)
    manifest = {
        "format": FORMAT, "version": VERSION, "model": model,
        "song_path": str(Path(song_path).absolute()) if song_path else None,
        "sample_rate": int(stems.sample_rate), "stems": names,
        "channels": int(mix.shape[0]), "length": int(mix.shape[1]),
        "last_stem_derived": bool(derived),
        "edits": [e.to_json() for e in edits],
        "mixer": mixer or {}, "view": view or {},
    }
    try:
        text = json.dumps(manifest, indent=1, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ProjectError(f"The project's settings cannot be saved: {e}") from e
    files = {"mix.npy": mix}
    files.update({f"stem_{i}.npy": a for i, a in enumerate(arrays)
                  if not (derived and i == len(arrays) - 1)})
    _write_atomically(path, text, files)
    return path


def _last_is_mix_minus_others(arrays: list[np.ndarray], mix: np.ndarray,
                              block: int = 1 << 18) -> bool:
    """Bit for bit ``mix - sum(others)``, checked a block at a time: on a 30-minute song
    the whole-song temporaries would be three stems' worth (1.9 GB) at once."""
    for a in range(0, mix.shape[-1], block):
        b = a + block
        total = np.sum(np.stack([x[:, a:b] for x in arrays[:-1]]), axis=0)
        if not np.array_equal(arrays[-1][:, a:b], mix[:, a:b] - total):
            return False
    return True


def _check_target(path: Path, song_path: str | Path | None) -> None:
    if song_path and path.exists() and Path(song_path).exists() \
            and os.path.samefile(path, song_path):
        raise ProjectError(f"{path.name} is the song itself; choose another name for the project")
    if path.exists() and not _is_project(path):
        raise ProjectError(f"{path.name} exists and is not a stemsplit project; "
                           "not replacing it")


def _is_project(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read(MANIFEST)).get("format") == FORMAT
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, AttributeError):
        return False


def _write_atomically(path: Path, manifest: str, arrays: dict[str, np.ndarray]) -> None:
    """Everything goes to a hidden file beside ``path``, renamed over it only when whole."""
    # What a save killed mid-way (SIGKILL, power cut) left here goes first: it names its
    # writer's process, so a save still running elsewhere keeps its file.
    sweep_files(path.parent)
    try:
        tmp = temp_file(path.parent, path.name)
    except OSError as e:
        raise ProjectError(f"Cannot save {path.name} in {path.parent}: "
                           f"{e.strerror or e}") from e
    try:
        with open(tmp, "wb") as f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                zf.writestr(MANIFEST, manifest)
                for name, arr in arrays.items():
                    with zf.open(name, "w", force_zip64=True) as out:
                        np.lib.format.write_array(out, arr, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise ProjectError(f"Cannot save {path.name}: {e.strerror or e}") from e
        raise


def load_project(path: str | Path) -> Project:
    """Read a project written by :func:`save_project`.

    Raises:
        ProjectError: missing, not a stemsplit project, written by a newer version,
            or damaged (the message says which).
    """
    path = Path(path)
    if not path.is_file():
        raise ProjectError(f"{path.name}: project not found")
    try:
        with zipfile.ZipFile(path) as zf:
            return _read(path, zf)
    except zipfile.BadZipFile as e:
        if not _has_manifest(path):
            raise ProjectError(f"{path.name} is not a stemsplit project") from e
        raise ProjectError(f"{path.name} is damaged ({e}); it cannot be opened") from e
    except (OSError, EOFError) as e:
        raise ProjectError(f"{path.name} cannot be read: {e}") from e


def _has_manifest(path: Path) -> bool:
    """Whether a file that zipfile refuses still starts like one of ours (a cut-off copy)."""
    try:
        with open(path, "rb") as f:
            head = f.read(200)
    except OSError:
        return False
    return head.startswith(b"PK") and MANIFEST.encode() in head


def _read(path: Path, zf: zipfile.ZipFile) -> Project:
    name = path.name
    try:
        manifest = json.loads(zf.read(MANIFEST))
    except KeyError as e:
        raise ProjectError(f"{name} is not a stemsplit project") from e
    except ValueError as e:
        raise ProjectError(f"{name} is damaged (unreadable manifest)") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ProjectError(f"{name} is not a stemsplit project")
    version = manifest.get("version")
    if not isinstance(version, int) or version < 1:
        raise ProjectError(f"{name} is damaged (no format version)")
    if version > VERSION:
        raise ProjectError(f"{name} was saved by a newer stemsplit (project format {version}, "
                           f"this one reads up to {VERSION}); update stemsplit to open it")
    try:
        names = [str(s) for s in manifest["stems"]]
        shape = (int(manifest["channels"]), int(manifest["length"]))
        rate = int(manifest["sample_rate"])
        derived = bool(manifest.get("last_stem_derived", False))
        edits = [Edit.from_json(e) for e in manifest.get("edits", [])]
        mixer, view = manifest.get("mixer") or {}, manifest.get("view") or {}
        song = manifest.get("song_path")
    except (KeyError, TypeError, ValueError) as e:
        raise ProjectError(f"{name} is damaged (manifest: {e})") from e
    if not names or rate <= 0 or not isinstance(mixer, dict) or not isinstance(view, dict):
        raise ProjectError(f"{name} is damaged (manifest)")
    unknown = {e.stem for e in edits} - set(names)
    if unknown:
        raise ProjectError(f"{name} is damaged (edits of unknown stems {sorted(unknown)})")
    mix = _array(zf, "mix.npy", shape, name)
    stored = names[:-1] if derived else names
    arrays = [_array(zf, f"stem_{i}.npy", shape, name) for i in range(len(stored))]
    if derived:
        arrays.append(mix - np.stack(arrays).sum(axis=0) if arrays else mix.copy())
    model = str(manifest.get("model", ""))
    return Project(path=path, song_path=Path(song) if song else None, model=model,
                   stems=StemSet(rate, dict(zip(names, arrays, strict=True)), model),
                   mix=mix, edits=edits, mixer=mixer, view=view, version=version)


def _array(zf: zipfile.ZipFile, member: str, shape: tuple[int, int], name: str) -> np.ndarray:
    try:
        with zf.open(member) as f:
            arr = np.lib.format.read_array(f, allow_pickle=False)
    except KeyError as e:
        raise ProjectError(f"{name} is damaged ({member} is missing)") from e
    except ValueError as e:
        raise ProjectError(f"{name} is damaged ({member}: {e})") from e
    if arr.dtype != np.float32 or arr.shape != shape:
        raise ProjectError(f"{name} is damaged ({member} is {arr.dtype} {arr.shape}, "
                           f"expected float32 {shape})")
    if not np.isfinite(arr).all():
        raise ProjectError(f"{name} is damaged ({member} holds NaN or infinite samples)")
    return arr
