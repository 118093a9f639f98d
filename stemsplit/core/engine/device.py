"""Choosing the compute device: CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

import os

import torch

from stemsplit.core.errors import StemsplitError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def available_devices() -> list[str]:
    """Devices usable on this machine, best first."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if _mps_available():
        found.append("mps")
    found.append("cpu")
    return found


def resolve_device(name: str = "auto") -> torch.device:
    """Turn a user's choice into a device, with a clear message if it is not there."""
    if name not in DEVICE_CHOICES:
        raise StemsplitError(f"unknown device {name!r}; choose from {', '.join(DEVICE_CHOICES)}")
    if name == "auto":
        return torch.device(available_devices()[0])
    if name not in available_devices():
        raise StemsplitError(f"device {name!r} is not available here; "
                             f"available: {', '.join(available_devices())}")
    return torch.device(name)


def configure_cpu_threads() -> int:
    """Use every core the process may run on (torch's default can undercount in containers)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    torch.set_num_threads(max(1, cores))
    return torch.get_num_threads()


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception from torch means the device ran out of memory."""
    oom_type = getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The reduced precision to run a network in on ``device``; None means fp32.

    The choice is ``engine.precision``'s (one detection of native bf16 for every family).

    Raises:
        StemsplitError: an unknown precision, or one the device cannot run.
    """
    from stemsplit.core.engine.precision import resolve_precision

    chosen = resolve_precision(precision, device)
    return chosen.dtype if chosen.reduced else None
