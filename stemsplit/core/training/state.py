"""The training checkpoint: everything ``--resume`` needs, in one safetensors file.

Tensors: the U-Nets' parameters and batch-norm buffers (``model.*``), Adam's
moments (``optim.<i>.exp_avg`` / ``exp_avg_sq``) and torch's RNG state
(``rng.torch``); the metadata's ``state`` key holds JSON: configuration, step,
Adam's per-parameter step counts and hyper-parameters, numpy's generator state,
validation history and data summary. One file written atomically, so a crash
or a full disk leaves the previous checkpoint, never half of one.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import torch

from stemsplit.core.errors import StemsplitError
from stemsplit.core.models.weights_file import tensors_digest, write_atomically

FORMAT = "stemsplit-training-1"
CHECKPOINT = "training.safetensors"
MAX_STATE_BYTES = 16 << 20


class CheckpointError(StemsplitError):
    """A training checkpoint cannot be written or read."""


def save(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
         rng: np.random.Generator, state: dict) -> None:
    """Write the checkpoint atomically (CheckpointError with the reason if it fails)."""
    from safetensors.numpy import save_file

    tensors = {f"model.{k}": v.detach().cpu().numpy().copy()
               for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    steps = {}
    for index, slot in opt["state"].items():
        tensors[f"optim.{index}.exp_avg"] = slot["exp_avg"].numpy().copy()
        tensors[f"optim.{index}.exp_avg_sq"] = slot["exp_avg_sq"].numpy().copy()
        steps[str(index)] = float(slot["step"])
    tensors["rng.torch"] = torch.get_rng_state().numpy().copy()
    meta = {"format": FORMAT, "state": json.dumps({
        **state, "adam_steps": steps, "param_groups": _groups(opt),
        "numpy_rng": rng.bit_generator.state}),
        "tensors_sha256": tensors_digest(tensors)}
    try:
        write_atomically(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))
    except OSError as exc:
        raise CheckpointError(f"cannot write the checkpoint {path}: "
                              f"{exc.strerror or exc}") from None


def _groups(opt: dict) -> list[dict]:
    return [{k: v for k, v in g.items() if k != "params"} for g in opt["param_groups"]]


def load(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
         rng: np.random.Generator) -> dict:
    """Restore model, optimizer and generators in place; returns the JSON state."""
    from safetensors import SafetensorError, safe_open

    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"{path} is not a regular file")
        with safe_open(str(path), framework="numpy") as fh:
            meta = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except FileNotFoundError:
        raise CheckpointError(f"there is no checkpoint to resume at {path}") from None
    except (OSError, SafetensorError) as exc:
        raise CheckpointError(f"cannot read the checkpoint {path}: {exc}") from None
    if meta.get("format") != FORMAT or len(meta.get("state", "")) > MAX_STATE_BYTES:
        raise CheckpointError(f"{path} is not a stemsplit training checkpoint")
    if meta.get("tensors_sha256") != tensors_digest(tensors):
        raise CheckpointError(f"the checkpoint {path} is damaged (checksum mismatch)")
    try:
        state = json.loads(meta["state"])
        model.load_state_dict({k[6:]: torch.from_numpy(v) for k, v in tensors.items()
                               if k.startswith("model.")})
        slots = {}
        for key, steps in state["adam_steps"].items():
            slots[int(key)] = {"step": torch.tensor(steps),
                               "exp_avg": torch.from_numpy(tensors[f"optim.{key}.exp_avg"]),
                               "exp_avg_sq": torch.from_numpy(tensors[f"optim.{key}.exp_avg_sq"])}
        groups = optimizer.state_dict()["param_groups"]
        for group, saved in zip(groups, state["param_groups"], strict=True):
            group.update(saved)
        optimizer.load_state_dict({"state": slots, "param_groups": groups})
        torch.set_rng_state(torch.from_numpy(tensors["rng.torch"]))
        rng.bit_generator.state = state["numpy_rng"]
    except (KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"the checkpoint {path} does not fit this training run "
                              f"({exc}); start again without --resume") from None
    return state
