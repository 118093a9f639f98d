"""Which number format the network runs in: fp32, or bf16/fp16 where the hardware does it natively.

Only the network changes format; STFT, iSTFT and the mask maths always stay in
float32, so the stems still sum to the mix exactly and the masks still sum to one.

``auto`` never guesses: on the CPU it picks bf16 only when the processor has
native bf16 units (Intel AMX-BF16 or AVX512-BF16, which oneDNN uses for
convolutions; Sapphire Rapids and later Xeons, AMD Zen 4/5) as reported by
torch's own CPU feature checks, or by the kernel's CPU flags on Linux. On CUDA
it picks bf16 where the GPU supports it and fp16 otherwise; on Apple MPS fp16.
Everything else runs fp32.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from stemsplit.core.errors import StemsplitError

PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# CPU flags (Linux /proc/cpuinfo names) that mean bf16 maths in hardware.
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@dataclass(frozen=True)
class Precision:
    """A resolved choice.

    Attributes:
        name: "fp32", "bf16" or "fp16".
        native: whether the device computes in it natively (False: emulated, slow).
        reason: one phrase saying why, for the CLI's and the window's messages.
    """

    name: str
    native: bool
    reason: str

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.name]

    @property
    def reduced(self) -> bool:
        return self.name != "fp32"

    def describe(self) -> str:
        return f"{self.name} ({self.reason})"


def _torch_cpu_check(name: str) -> bool:
    check = getattr(getattr(torch, "cpu", None), name, None)
    try:
        return bool(check()) if callable(check) else False
    except RuntimeError:
        return False


def _linux_cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


@functools.lru_cache(maxsize=1)
def cpu_bf16_units() -> tuple[str, ...]:
    """The native bf16 units of this CPU that oneDNN can use, e.g. ``("amx_bf16", "avx512_bf16")``.

    Empty when there are none, or when torch was built without oneDNN (then no
    bf16 convolution kernel would use them).
    """
    if not torch.backends.mkldnn.is_available():
        return ()
    found = set()
    if _torch_cpu_check("_is_amx_tile_supported"):
        found.add("amx_bf16")  # every CPU with AMX tiles has AMX-BF16
    if _torch_cpu_check("_is_avx512_bf16_supported"):
        found.add("avx512_bf16")
    if sys.platform.startswith("linux"):
        found |= _linux_cpu_flags() & set(CPU_BF16_FLAGS)
    return tuple(f for f in CPU_BF16_FLAGS if f in found)


def _cuda_bf16() -> bool:
    try:
        return bool(torch.cuda.is_bf16_supported())
    except (RuntimeError, AssertionError):
        return False


def resolve_precision(choice: str, device: torch.device | str) -> Precision:
    """Turn a user's choice (``PRECISION_CHOICES``) into the precision to run on ``device``.

    Raises:
        StemsplitError: an unknown choice, or fp16 on the CPU (no fast fp16 kernels).
    """
    kind = torch.device(device).type
    if choice not in PRECISION_CHOICES:
        raise StemsplitError(f"unknown precision {choice!r}; choose from "
                             f"{', '.join(PRECISION_CHOICES)}")
    if kind == "cpu":
        units = cpu_bf16_units()
        if choice == "fp16":
            raise StemsplitError("fp16 runs on CUDA and MPS only; on the CPU choose bf16 or fp32")
        if choice == "auto":
            if units:
                return Precision("bf16", True, f"auto: this CPU has {', '.join(units)}")
            return Precision("fp32", True, "auto: this CPU has no native bf16 units")
        if choice == "bf16":
            return Precision("bf16", bool(units), f"native: {', '.join(units)}" if units
                             else "emulated: this CPU has no native bf16 units, expect it slow")
        return Precision("fp32", True, "as asked")
    if kind == "cuda":
        if choice == "auto":
            return (Precision("bf16", True, "auto: this GPU supports bf16") if _cuda_bf16()
                    else Precision("fp16", True, "auto: this GPU has no bf16"))
        if choice == "bf16" and not _cuda_bf16():
            raise StemsplitError("this GPU does not support bf16; choose fp16 or fp32")
        return Precision(choice, True, "as asked")
    if kind == "mps":
        if choice == "auto":
            return Precision("fp16", True, "auto: Apple GPU")
        return Precision(choice, True, "as asked")
    if choice in ("auto", "fp32"):
        return Precision("fp32", True, "auto" if choice == "auto" else "as asked")
    raise StemsplitError(f"{choice} is not available on {kind}; choose fp32")
