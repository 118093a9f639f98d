"""The shared out-of-memory fallback (``engine.oom``): retried on the CPU, once; a CPU OOM is
one clear error; other errors pass through untouched.

A real out-of-memory needs a GPU to run out; here the call raises torch's own
``OutOfMemoryError`` (what CUDA raises) while the engine says it is on an accelerator.
"""

from __future__ import annotations

import pytest
import torch

from stemsplit.core.engine.oom import with_cpu_fallback
from stemsplit.core.errors import StemsplitError


class Engine:
    def __init__(self, device: str, fail: BaseException | None) -> None:
        self.device = torch.device(device)
        self.fail = fail
        self.calls: list[str] = []
        self.moved = 0

    def call(self) -> str:
        self.calls.append(self.device.type)
        if self.fail is not None and self.device.type != "cpu":
            raise self.fail
        if self.fail is not None and self.device.type == "cpu" and self.moved == 0:
            raise self.fail
        return f"done on {self.device.type}"

    def to_cpu(self) -> None:
        self.device = torch.device("cpu")
        self.moved += 1

    def run(self, message: str = "out of memory, even on the CPU") -> str:
        return with_cpu_fallback(self.call, lambda: self.device, self.to_cpu, message)


@pytest.mark.parametrize("fail", [torch.cuda.OutOfMemoryError("CUDA out of memory."),
                                  RuntimeError("MPS backend out of memory"), MemoryError()])
def test_oom_on_an_accelerator_retries_the_chunk_on_the_cpu(fail):
    engine = Engine("meta", fail)  # any device that is not the CPU
    assert engine.run() == "done on cpu"
    assert engine.calls == ["meta", "cpu"] and engine.moved == 1


def test_oom_on_the_cpu_is_one_clear_error():
    engine = Engine("cpu", MemoryError())
    with pytest.raises(StemsplitError, match="try a shorter segment") as info:
        engine.run("out of memory, even on the CPU; try a shorter segment")
    assert isinstance(info.value.__cause__, MemoryError) and engine.calls == ["cpu"]


def test_other_errors_pass_through():
    engine = Engine("meta", RuntimeError("shape mismatch"))
    with pytest.raises(RuntimeError, match="shape mismatch"):
        engine.run()
    assert engine.moved == 0
