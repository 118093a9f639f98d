"""Out of memory on the GPU: run the same network call again on the CPU.

Every torch engine (HT-Demucs, RoFormer) calls its network one chunk at a time
through :func:`with_cpu_fallback`. When the accelerator runs out of memory, the
cache is emptied, the engine moves its model to the CPU (``to_cpu``) and the
chunk is computed again there, so a long song finishes instead of failing; the
remaining chunks then stay on the CPU. Out of memory on the CPU itself is one
clear error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch

from stemsplit.core.engine.device import configure_cpu_threads, is_out_of_memory
from stemsplit.core.errors import StemsplitError

T = TypeVar("T")


def with_cpu_fallback(call: Callable[[], T], device: Callable[[], torch.device],
                      to_cpu: Callable[[], None],
                      cpu_message: str = "out of memory, even on the CPU") -> T:
    """``call()``; on out of memory off the CPU, ``to_cpu()`` and ``call()`` again.

    Args:
        device: the device the engine is on now (read after each failure).
        to_cpu: moves the engine's model (and its precision) to the CPU.
        cpu_message: the error when the CPU runs out of memory too.

    Raises:
        StemsplitError: out of memory on the CPU. Other errors pass through.
    """
    while True:
        try:
            return call()
        except (RuntimeError, MemoryError) as exc:
            if not isinstance(exc, MemoryError) and not is_out_of_memory(exc):
                raise
            where = device()
            if where.type == "cuda":
                torch.cuda.empty_cache()
            if where.type == "cpu":
                raise StemsplitError(cpu_message) from exc
            to_cpu()
            configure_cpu_threads()
