"""RoFormer weights: the community's ``.ckpt`` files read safely, our safetensors format.

A ``.ckpt`` is a ``torch.save``d state dict (sometimes wrapped as
``{"state_dict": ...}`` with a ``model.`` prefix, as Lightning saves it). It is
read with ``torch.load(weights_only=True)``, torch's restricted unpickler, with
nothing added to its allow-list: tensors and plain containers only, so no code
from the file can run; a file that needs anything else is refused.

Installed models are converted once into one safetensors file whose metadata
holds the config as JSON; loading it involves no unpickling at all.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from stemsplit.core.errors import ModelError
from stemsplit.core.models.roformer.config import RoformerConfig
from stemsplit.core.models.roformer.model import Roformer
from stemsplit.core.models.weights_file import write_atomically

FORMAT = "stemsplit-roformer-1"


@dataclass
class RoformerWeights:
    """An installed model: its config and its state dict (in the stored dtype)."""

    config: RoformerConfig
    state: dict[str, torch.Tensor]

    def build(self, dtype: torch.dtype = torch.float32) -> Roformer:
        """The network in inference mode with these weights.

        Raises:
            ModelError: the weights do not fit the network the config describes.
        """
        net = Roformer(self.config)
        own = net.state_dict()
        state = {k: v.to(dtype) for k, v in self.state.items()}
        for key in own:  # rotary frequencies are fixed; a file may leave them out
            if key.endswith("rotary_embed.freqs") and key not in state:
                state[key] = own[key]
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            detail = lines[1] if len(lines) > 1 else lines[0]
            raise ModelError("the checkpoint does not fit the network its config describes "
                             f"({detail[:300]})") from exc
        net.eval()
        net.requires_grad_(False)
        return net


def read_ckpt(path: Path) -> dict[str, torch.Tensor]:
    """A ``.ckpt``'s state dict, read without running any code from the file.

    Raises:
        ModelError: not a readable checkpoint, or one that needs more than tensors.
    """
    try:
        package = torch.load(str(path), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError,
            ValueError, AttributeError, TypeError, KeyError, IndexError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"{Path(path).name} is not a checkpoint that can be read safely "
                         f"({first[:200]})") from exc
    if isinstance(package, dict) and isinstance(package.get("state_dict"), dict):
        package = package["state_dict"]
    if not isinstance(package, dict) or not package or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in package.items()):
        raise ModelError(f"{Path(path).name} does not hold a state dict of tensors")
    if all(k.startswith("model.") for k in package):
        package = {k.removeprefix("model."): v for k, v in package.items()}
    return dict(package)


def write_model(path: Path, name: str, weights: RoformerWeights,
                extra: dict[str, str] | None = None) -> None:
    """Save in our safetensors layout, atomically (weights kept in their dtype)."""
    from safetensors.torch import save_file

    # rotary frequencies are shared between layers and fixed: ``build`` recomputes them
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in weights.state.items()
               if not k.endswith("rotary_embed.freqs")}
    meta = {"format": FORMAT, "model": name, "config": weights.config.to_json(),
            **(extra or {})}
    write_atomically(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))


def read_model(path: Path, name: str) -> RoformerWeights:
    """Read what :func:`write_model` wrote; ModelError when damaged or another model's."""
    from safetensors import SafetensorError, safe_open

    hint = f"reinstall it with 'stemsplit models install {name}'"
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            tensors = {key: fh.get_tensor(key) for key in fh.keys()}
    except (SafetensorError, OSError) as exc:
        raise ModelError(f"the {name} weights at {path} are damaged ({exc}); {hint}") from exc
    if meta.get("format") != FORMAT or meta.get("model") != name:
        raise ModelError(f"{path} does not hold the {name} model; {hint}")
    try:
        config = RoformerConfig.from_json(meta["config"])
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"the {name} weights at {path} are damaged ({exc}); {hint}") from exc
    return RoformerWeights(config, tensors)
