"""Choosing the network's precision: native bf16 is detected, never guessed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from stemsplit.core.engine import precision
from stemsplit.core.engine.precision import PRECISION_CHOICES, cpu_bf16_units, resolve_precision
from stemsplit.core.errors import StemsplitError


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the kernel's CPU flags")
def test_cpu_bf16_units_are_the_ones_the_kernel_reports():
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    expected = tuple(f for f in ("amx_bf16", "avx512_bf16") if f in flags)
    assert cpu_bf16_units() == expected


def test_flags_are_read_from_a_cpuinfo_file(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 amx_tile\n")
    assert precision._linux_cpu_flags(info) >= {"avx512_bf16", "amx_tile"}
    assert precision._linux_cpu_flags(tmp_path / "missing") == set()


def test_auto_on_the_cpu_is_bf16_exactly_when_the_cpu_has_native_bf16():
    chosen = resolve_precision("auto", "cpu")
    assert chosen.name == ("bf16" if cpu_bf16_units() else "fp32")
    assert chosen.native
    assert chosen.dtype == {"bf16": torch.bfloat16, "fp32": torch.float32}[chosen.name]
    assert "auto" in chosen.describe()


def test_explicit_choices_on_the_cpu():
    assert resolve_precision("fp32", "cpu").name == "fp32"
    bf16 = resolve_precision("bf16", "cpu")
    assert bf16.name == "bf16" and bf16.native == bool(cpu_bf16_units())
    if not bf16.native:
        assert "emulated" in bf16.reason
    with pytest.raises(StemsplitError, match="CUDA and MPS only"):
        resolve_precision("fp16", "cpu")
    with pytest.raises(StemsplitError, match="unknown precision 'fp8'"):
        resolve_precision("fp8", "cpu")


def test_the_choices_are_what_the_command_line_offers():
    from stemsplit.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    option = next(a for a in sub.choices["separate"]._actions if a.dest == "precision")
    assert tuple(option.choices) == PRECISION_CHOICES and option.default == "auto"
