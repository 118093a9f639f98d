"""Which arithmetic training runs its network in: bf16 where the hardware has it natively."""

from __future__ import annotations

from pathlib import Path

import torch


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX-BF16, read from the CPU's own flags (Linux); never guessed."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return bool({"avx512_bf16", "amx_bf16"} & set(flags.split()))


def resolve_training_precision(asked: str, device: torch.device | None = None) -> str:
    """``auto`` -> ``bf16`` on CUDA with bf16 support or a CPU with native bf16, else fp32."""
    if asked != "auto":
        return asked
    if device is not None and device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device is None or device.type == "cpu":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return "fp32"
