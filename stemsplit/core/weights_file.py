"""Our own weights file: U-Nets (one per stem) in safetensors, read without pickle.

Used for downloaded models (``model_store``) and for a fast copy of the
built-in checkpoints, whose unpickling holds the GIL for ~0.3 s per file and
so freezes the window while the model loads; the copy reads in ~50 ms.
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
BUILTIN_CACHE_ENV = "STEMSPLIT_WEIGHTS_CACHE"  # where fast copies of built-in weights go

States = list[dict[str, np.ndarray]]


def write_weights(path: Path, name: str, states: list[dict[str, np.ndarray]],
                  extra: dict[str, str] | None = None) -> None:
    """Save U-Net weights (one dict per stem) in our safetensors layout, atomically."""
    from safetensors.numpy import save_file

    tensors = {f"unet{i}.{key}": np.ascontiguousarray(value) for i, state in enumerate(states)
               for key, value in state.items()}
    meta = {"format": FORMAT, "model": name, "n_stems": str(len(states)), **(extra or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        save_file(tensors, str(tmp), metadata=meta)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_weights(path: Path, name: str, n_stems: int) -> list[dict[str, np.ndarray]]:
    """Read what :func:`write_weights` wrote; ModelError when damaged or of another model."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as fh:
            meta = fh.metadata() or {}
            tensors = {key: fh.get_tensor(key) for key in fh.keys()}
    except (SafetensorError, OSError) as exc:
        raise ModelError(f"the {name} weights at {path} are damaged ({exc}); "
                         f"reinstall with 'stemsplit models install {name}'") from exc
    if meta.get("format") != FORMAT or meta.get("n_stems") != str(n_stems):
        raise ModelError(f"{path} does not hold the {n_stems}-stem model; reinstall it")
    states: list[dict[str, np.ndarray]] = [{} for _ in range(n_stems)]
    for key, value in tensors.items():
        index, _, param = key.partition(".")
        states[int(index.removeprefix("unet"))][param] = value
    return states


def cached_copy(name: str, sources: list[Path], load: Callable[[], States]) -> States:
    """``load()``'s weights, through a copy in the cache keyed by the ``sources`` files.

    A damaged copy is rebuilt; an unwritable cache only costs speed.
    """
    ident = "|".join(f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in sources)
    key = hashlib.sha256(ident.encode()).hexdigest()[:16]
    folder = Path(os.environ.get(BUILTIN_CACHE_ENV)
                  or settings.cache_dir() / "models" / ".builtin")
    copy = folder / f"{name}-{key}.safetensors"
    if copy.is_file():
        try:
            return read_weights(copy, name, len(sources))
        except ModelError:
            pass  # damaged (e.g. the disk filled up at the time): rebuild it below
    states = load()
    try:
        write_weights(copy, name, states)
        for old in folder.glob(f"{name}-*.safetensors"):
            if old != copy:
                old.unlink()  # copies made from an earlier install of the package
    except OSError:
        pass
    return states
