"""Our own weights file: U-Nets (one per stem) in safetensors, read without pickle.

Used for downloaded models (``model_store``) and for a fast copy of the
built-in checkpoints, whose unpickling holds the GIL for ~0.3 s per file and
so freezes the window while the model loads; the copy reads in ~50 ms.

Every file carries a SHA-256 of its tensors (names, dtypes, shapes and bytes)
in its metadata, checked on every read (40-60 ms for the 79 MB built-in copy
on 2 cores, with the GIL released, against ~0.6 s of GIL-holding unpickling):
a flipped bit on disk must not turn into silently wrong stems forever. A
damaged built-in copy is rebuilt from the shipped checkpoints; a damaged
download asks for a reinstall.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from stemsplit import settings
from stemsplit.core.errors import ModelError

FORMAT = "stemsplit-spleeter-unets-1"
CHECKSUM_KEY = "tensors_sha256"
BUILTIN_CACHE_ENV = "STEMSPLIT_WEIGHTS_CACHE"  # where fast copies of built-in weights go

States = list[dict[str, np.ndarray]]


def write_weights(path: Path, name: str, states: list[dict[str, np.ndarray]],
                  extra: dict[str, str] | None = None) -> None:
    """Save U-Net weights (one dict per stem) in our safetensors layout, atomically."""
    from safetensors.numpy import save_file

    tensors = {f"unet{i}.{key}": np.ascontiguousarray(value) for i, state in enumerate(states)
               for key, value in state.items()}
    meta = {"format": FORMAT, "model": name, "n_stems": str(len(states)), **(extra or {}),
            CHECKSUM_KEY: tensors_digest(tensors)}
    write_atomically(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Have ``write(tmp)`` write a file beside ``path``, then rename it into place.

    A crash or a full disk leaves the old file (or none), never half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def tensors_digest(tensors: dict[str, np.ndarray]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for key in sorted(tensors):
        value = np.ascontiguousarray(tensors[key])
        digest.update(f"{key}\0{value.dtype.str}\0{value.shape}\0".encode())
        digest.update(value.reshape(-1).view(np.uint8))  # hashlib drops the GIL for this
    return digest.hexdigest()


def read_weights(path: Path, name: str, n_stems: int,
                 require_checksum: bool = False) -> list[dict[str, np.ndarray]]:
    """Read what :func:`write_weights` wrote; ModelError when damaged or of another model.

    Args:
        require_checksum: treat a file without a checksum (written before checksums
            existed) as damaged. The built-in copy asks for this, since it rebuilds
            itself for free. Downloaded models do not: their archive was checked at
            install time, nothing on disk can check them now, and refusing them would
            send every user back online after an upgrade.
    """
    from safetensors import SafetensorError, safe_open

    def damaged(why: str) -> ModelError:
        return ModelError(f"the {name} weights at {path} are damaged ({why}); "
                          f"reinstall with 'stemsplit models install {name}'")

    try:
        with safe_open(str(path), framework="numpy") as fh:
            meta = fh.metadata() or {}
            tensors = {key: fh.get_tensor(key) for key in fh.keys()}
    except (SafetensorError, OSError) as exc:
        raise damaged(str(exc)) from exc
    if meta.get("format") != FORMAT or meta.get("n_stems") != str(n_stems):
        raise ModelError(f"{path} does not hold the {n_stems}-stem model; reinstall it")
    expected = meta.get(CHECKSUM_KEY)
    if expected is None:
        if require_checksum:
            raise damaged("no checksum")
    elif tensors_digest(tensors) != expected:
        raise damaged("checksum mismatch")
    states: list[dict[str, np.ndarray]] = [{} for _ in range(n_stems)]
    for key, value in tensors.items():
        index, _, param = key.partition(".")
        states[int(index.removeprefix("unet"))][param] = value
    return states


def cached_copy(name: str, sources: list[Path], load: Callable[[], States]) -> States:
    """``load()``'s weights, through a copy in the cache keyed by the ``sources`` files.

    A damaged copy (including one from before checksums, which cannot be checked)
    is rebuilt; an unwritable cache only costs speed.
    """
    ident = "|".join(f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in sources)
    key = hashlib.sha256(ident.encode()).hexdigest()[:16]
    folder = Path(os.environ.get(BUILTIN_CACHE_ENV)
                  or settings.cache_dir() / "models" / ".builtin")
    copy = folder / f"{name}-{key}.safetensors"
    if copy.is_file():
        try:
            return read_weights(copy, name, len(sources), require_checksum=True)
        except ModelError:
            pass  # damaged (disk full at the time, a bad sector): rebuild it below
    states = load()
    from safetensors import SafetensorError  # a full disk surfaces as this, not OSError

    try:
        write_weights(copy, name, states)
        for old in folder.glob(f"{name}-*.safetensors"):
            if old != copy:
                old.unlink()  # copies made from an earlier install of the package
    except (OSError, SafetensorError) as exc:
        _warn_cache_once(folder, exc)
    return states


_warned_caches: set[Path] = set()


def _warn_cache_once(folder: Path, exc: Exception) -> None:
    """The weights work from memory; say once per folder that the fast copy could not be
    kept (so the next start converts again), and why."""
    import warnings

    from stemsplit.core.errors import StemsplitWarning

    if folder in _warned_caches:
        return
    _warned_caches.add(folder)
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    warnings.warn(StemsplitWarning(
        f"cannot keep a fast copy of the built-in weights in {folder} ({reason}); they were "
        "converted in memory, which costs a few seconds on every start"), stacklevel=2)
