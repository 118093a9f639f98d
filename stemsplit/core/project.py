"""Project files: a separated song with its edits, reopened without a re-separation.

A ``.stemsplit`` project is one zip file:

- ``manifest.json``: ``format`` ("stemsplit-project"), ``version``, song path,
  model, sample rate, stem names, channels and length, the edits
  (``Edit.to_json``), the mixer and view settings (any JSON the GUI gives), the
  loop (``{"start": s, "end": s, "on": bool}`` or null; one that does not fit
  the song is dropped on reading, never an error);
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
import math
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stemsplit.core.audio.commit import sweep_folder
from stemsplit.core.audio.disk import save_failure
from stemsplit.core.audio.partials import temp_file
from stemsplit.core.editing.editor import Edit
from stemsplit.core.errors import StemsplitError
from stemsplit.core.project_manifest import Invalid, check_manifest
from stemsplit.core.project_members import Damaged, member_info, read_member
from stemsplit.core.stems import StemSet

EXTENSION = ".stemsplit"
FORMAT = "stemsplit-project"
VERSION = 1
MAX_MANIFEST_BYTES = 64 << 20  # 100 000 edits with long lassos; ours are a few kB


class ProjectError(StemsplitError):
    """A project could not be read or written; the message says why, for a user."""


@dataclass(frozen=True)
class Loop:
    """The loop region in seconds (``0 <= start < end``) and whether looping is on."""

    start: float
    end: float
    on: bool

    def to_json(self) -> dict:
        return {"start": self.start, "end": self.end, "on": self.on}

    @classmethod
    def from_json(cls, value, duration_s: float) -> Loop | None:
        """A saved loop, or None when it is absent or does not fit the song."""
        if not isinstance(value, dict):
            return None
        start, end, on = value.get("start"), value.get("end"), value.get("on", False)
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                   for x in (start, end)) or not isinstance(on, bool):
            return None
        start, end = float(start), float(end)
        if not (math.isfinite(start) and math.isfinite(end)
                and 0.0 <= start < end <= duration_s + 1e-6):
            return None
        return cls(start, min(end, duration_s), on)


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
        loop: ``Loop`` (seconds, on/off) or None.
        version: the file's format version.
        notes: settings in the file that were unusable and reset (for the user:
            "the vocals fader was reset"); the audio and edits are never reset.
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
    notes: list[str] = field(default_factory=list)
    loop: Loop | None = None

    @property
    def song_found(self) -> bool:
        """Whether the song is still where it was when saved."""
        return self.song_path is not None and self.song_path.is_file()


MANIFEST = "manifest.json"


def save_project(path: str | Path, *, song_path: str | Path | None, model: str,
                 stems: StemSet, edits: list[Edit], mixer: dict | None = None,
                 view: dict | None = None, mix: np.ndarray | None = None,
                 loop: Loop | None = None) -> Path:
    """Write a project atomically (temporary file beside it, then rename).

    Args:
        path: the project file; ``.stemsplit`` is added when it has no suffix.
            An older project there is replaced only once the new one is complete
            (keeping its permissions; a new file follows the umask); any other
            existing file is never replaced. A symbolic link is written through to
            the file it points at, as editors do.
        song_path: the song's file (stored as an absolute path).
        model: the model's name.
        stems: the base (unedited) stems.
        edits: ``MaskEditor.history``.
        mixer, view: JSON-safe dicts.
        mix: ``(channels, n)`` float32 the stems sum to; default: their sum.
        loop: the loop region and its on/off state, if any.

    Returns:
        The path written (the link's own path when ``path`` was a link).

    Raises:
        ProjectError: the path is the song or another file that is not a project,
            the folder is not writable, the disk is full, or settings are not
            JSON-safe; nothing is left under ``path`` then (an older project there
            is kept as it was). Never anything else.
    """
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(EXTENSION)
    try:
        _save(path, song_path, model, stems, edits, mixer, view, mix, loop)
    except ProjectError:
        raise
    except MemoryError as e:
        raise ProjectError(f"Not enough memory to save {path.name}.") from e
    except Exception as e:
        raise ProjectError(f"Cannot save {path.name} ({type(e).__name__}: "
                           f"{str(e)[:200]})") from e
    return path


def _save(path: Path, song_path, model, stems, edits, mixer, view, mix, loop) -> None:
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    _check_target(target, song_path)
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
        "loop": loop.to_json() if loop is not None else None,
    }
    try:
        text = json.dumps(manifest, indent=1, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as e:
        raise ProjectError(f"The project's settings cannot be saved: {e}") from e
    files = {"mix.npy": mix}
    files.update({f"stem_{i}.npy": a for i, a in enumerate(arrays)
                  if not (derived and i == len(arrays) - 1)})
    _write_atomically(target, text, files)


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
    """Whether ``path`` is one of ours (bounded reads: a damaged one is still ours)."""
    try:
        with _open_regular(path) as f, zipfile.ZipFile(f) as zf:
            return _manifest(zf, path.name).get("format") == FORMAT
    except Exception:  # a damaged, foreign or unreadable file is not ours to replace
        return _has_manifest(path)


def _new_file_mode(path: Path) -> int:
    """The existing file's permissions, else what the umask gives a new file."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        pass
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            umask = next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        umask = os.umask(0o022)  # no /proc: read it the classic way (and put it back)
        os.umask(umask)
    return 0o666 & ~umask


def _write_atomically(path: Path, manifest: str, arrays: dict[str, np.ndarray]) -> None:
    """Everything goes to a hidden file beside ``path``, renamed over it only when whole."""
    mode = _new_file_mode(path)
    # What a save killed mid-way (SIGKILL, power cut) left here goes first: it names its
    # writer's process, so a save still running elsewhere keeps its file.
    sweep_folder(path.parent)
    try:
        tmp = temp_file(path.parent, path.name)
    except OSError as e:
        raise ProjectError(f"Cannot save {path.name}: {save_failure(path, e)}") from e
    try:
        with open(tmp, "wb") as f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                zf.writestr(MANIFEST, manifest)
                for name, arr in arrays.items():
                    with zf.open(name, "w", force_zip64=True) as out:
                        np.lib.format.write_array(out, arr, allow_pickle=False)
            os.fchmod(f.fileno(), mode)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):  # a full disk says how much room the project needs
            needed = len(manifest) + sum(a.nbytes for a in arrays.values())
            raise ProjectError(f"Cannot save {path.name}: {save_failure(path, e, needed)}") from e
        raise


def load_project(path: str | Path) -> Project:
    """Read a project written by :func:`save_project`.

    Nothing in the file is trusted: every manifest value is checked
    (``core.project_manifest``) and every audio member's header is compared with the
    manifest before a byte of audio is read, so a crafted file costs no more memory
    than the audio it really holds.

    Raises:
        ProjectError: missing, not a stemsplit project, written by a newer version,
            or damaged (the message says which). Never anything else.
    """
    path = Path(path)
    name = path.name
    try:
        with _open_regular(path) as f, zipfile.ZipFile(f) as zf:
            return _read(path, zf, os.fstat(f.fileno()).st_size)
    except ProjectError:
        raise
    except zipfile.BadZipFile as e:
        if not _has_manifest(path):
            raise ProjectError(f"{name} is not a stemsplit project") from e
        raise ProjectError(f"{name} is damaged ({e}); it cannot be opened") from e
    except MemoryError as e:
        raise ProjectError(f"Not enough memory to open {name}.") from e
    except OSError as e:
        raise ProjectError(f"{name} cannot be read: {e.strerror or e}") from e
    except Exception as e:  # zlib/lzma errors, encrypted members, parser limits, ...
        raise ProjectError(f"{name} is damaged and cannot be opened "
                           f"({type(e).__name__})") from e


def _open_regular(path: Path):
    """The file opened for reading, only if it is a regular file (a FIFO would hang)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError as e:
        raise ProjectError(f"{path.name}: project not found") from e
    except IsADirectoryError as e:
        raise ProjectError(f"{path.name} is a folder, not a project") from e
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        raise ProjectError(f"{path.name} is not a regular file; a project is a file")
    return f


def _has_manifest(path: Path) -> bool:
    """Whether a file that zipfile refuses still starts like one of ours (a cut-off copy)."""
    try:
        with _open_regular(path) as f:
            head = f.read(200)
    except (OSError, ProjectError):
        return False
    return head.startswith(b"PK") and MANIFEST.encode() in head


def _read(path: Path, zf: zipfile.ZipFile, file_size: int) -> Project:
    name = path.name
    manifest = _manifest(zf, name)
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"{name} is damaged (no format version)")
    if version > VERSION:
        raise ProjectError(f"{name} was saved by a newer stemsplit (project format "
                           f"{version if version < 10**6 else 'unknown'}, this one reads "
                           f"up to {VERSION}); update stemsplit to open it")
    try:
        m, notes = check_manifest(manifest)
    except Invalid as e:
        raise ProjectError(f"{name} is damaged and cannot be opened: {e}.") from e
    names, rate, derived = m["stems"], m["sample_rate"], m["last_stem_derived"]
    shape = (m["channels"], m["length"])
    stored = names[:-1] if derived else names
    members = ["mix.npy", *(f"stem_{i}.npy" for i in range(len(stored)))]
    try:
        infos = [member_info(zf, member, shape, file_size) for member in members]
        mix, *arrays = (read_member(zf, info, shape) for info in infos)
    except Damaged as e:
        raise ProjectError(str(e).format(name=name) if e.sentence
                           else f"{name} is damaged ({e})") from e
    if derived:
        # One stored stem (two-stem models): no stacked copy and sum of it beside the
        # result (two stems' worth of temporaries, 1.3 GB on a 30-minute song).
        arrays.append(mix - arrays[0] if len(arrays) == 1
                      else mix - np.stack(arrays).sum(axis=0) if arrays else mix.copy())
    song = m.get("song_path")
    return Project(path=path, song_path=Path(song) if song else None, model=m["model"],
                   stems=StemSet(rate, dict(zip(names, arrays, strict=True)), m["model"]),
                   mix=mix, edits=m["edits"], mixer=m["mixer"], view=m["view"],
                   version=version, notes=notes,
                   loop=Loop.from_json(m["loop"], shape[1] / rate))


def _manifest(zf: zipfile.ZipFile, name: str) -> dict:
    try:
        info = zf.getinfo(MANIFEST)
    except KeyError as e:
        raise ProjectError(f"{name} is not a stemsplit project") from e
    if info.file_size > MAX_MANIFEST_BYTES:
        raise ProjectError(f"{name} is damaged (its manifest is "
                           f"{info.file_size / 2**20:.0f} MB; a project's is a few kB)")
    try:
        with zf.open(info) as f:
            raw = f.read(MAX_MANIFEST_BYTES + 1)  # bounded whatever the header says
        if len(raw) > MAX_MANIFEST_BYTES:
            raise ValueError("too large")
        manifest = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:  # bad JSON or UTF-8, huge ints, deep nesting
        raise ProjectError(f"{name} is damaged (unreadable manifest)") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ProjectError(f"{name} is not a stemsplit project")
    return manifest


def _no_constant(word: str) -> None:
    raise ValueError(f"{word} is not a number a project holds")
