"""The cache of the fused U-Nets (``spleeter.prepared``): same network, read back, never stale."""

from __future__ import annotations

import pytest
import torch

from stemsplit.core.engine.separator import EngineOptions
from stemsplit.core.models.registry import get_model, load_separator
from stemsplit.core.models.spleeter import prepared
from stemsplit.core.models.spleeter.fused import FusedStemUNets


@pytest.fixture
def cache(tmp_path, monkeypatch):
    from stemsplit.core.models.weights_file import BUILTIN_CACHE_ENV

    monkeypatch.setenv(BUILTIN_CACHE_ENV, str(tmp_path))
    return tmp_path / "fused"


def _masks(sep) -> torch.Tensor:
    torch.manual_seed(0)
    mag = (torch.rand(1, 2, 64, 1024) ** 3 * 4).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        return sep.fused(mag)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_cached_network_is_the_built_one(cache, precision):
    built = load_separator(device="cpu", options=EngineOptions(precision=precision))
    assert built._net is not None  # nothing cached yet: built from the weights
    files = list(cache.glob("2stems-*.safetensors"))
    assert len(files) == 1
    cached = load_separator(device="cpu", options=EngineOptions(precision=precision))
    assert cached._net is None  # read from the cache; the weights were never loaded
    assert torch.equal(_masks(built), _masks(cached))
    # the reference modules still come on demand (an out-of-memory fallback rebuilds from them)
    reference = FusedStemUNets(cached.net, cached.precision.dtype, torch.device("cpu"))
    cached.fused = reference
    assert torch.equal(_masks(built), _masks(cached))


def test_a_damaged_cache_is_rebuilt_not_used(cache):
    good = _masks(load_separator(device="cpu", options=EngineOptions(precision="fp32")))
    path = next(cache.glob("2stems-*.safetensors"))
    data = bytearray(path.read_bytes())
    data[-1000] ^= 0x40  # one flipped bit inside a tensor
    path.write_bytes(bytes(data))
    again = load_separator(device="cpu", options=EngineOptions(precision="fp32"))
    assert again._net is not None  # rebuilt from the weights
    assert torch.equal(_masks(again), good)
    assert path.read_bytes() != bytes(data)  # and the damaged file replaced


def test_the_key_follows_the_weight_files_and_the_dtype(tmp_path):
    info = get_model("2stems")
    key = prepared.cache_key(info, torch.float32)
    assert key is not None and key != prepared.cache_key(info, torch.bfloat16)
    assert prepared.cache_key(get_model("2stems-16kHz"), torch.float32) != key
    # a model whose weights come from memory (a model being trained) has no key: built
    from dataclasses import replace

    assert prepared.cache_key(replace(info, load_weights=lambda: info.load_weights()),
                              torch.float32) is None


def _fingerprint_of_a_sourceless_copy(tmp_path, edit=None) -> str:
    """The code fingerprint in a copy of stemsplit whose fused-network modules exist only
    as bytecode, as in the packaged app (PyInstaller keeps no .py files)."""
    import compileall
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import stemsplit

    root = tmp_path / "tree"
    shutil.copytree(Path(stemsplit.__file__).parent, root / "stemsplit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    folder = root / "stemsplit" / "core" / "models" / "spleeter"
    if edit:
        edit(folder)
    for name in ("fused", "folded_conv", "unet", "prepared"):
        compileall.compile_file(str(folder / f"{name}.py"), legacy=True, quiet=1)
        (folder / f"{name}.py").unlink()
    done = subprocess.run(
        [sys.executable, "-c", "import stemsplit.core.models.spleeter.prepared as p;"
         "assert p.__file__.endswith('.pyc'), p.__file__; print(p.code_fingerprint())"],
        env={**__import__("os").environ, "PYTHONPATH": str(root)}, cwd=root, capture_output=True,
        text=True, check=True)
    return done.stdout.strip()


def test_the_key_needs_no_sources_and_follows_the_code(tmp_path):
    plain = _fingerprint_of_a_sourceless_copy(tmp_path / "a")
    assert plain not in ("", "None")

    def edit(folder):
        path = folder / "fused.py"
        text = path.read_text()
        assert "MIN_FOLD_SCALE = 1e-3" in text
        path.write_text(text.replace("MIN_FOLD_SCALE = 1e-3", "MIN_FOLD_SCALE = 2e-3"))

    assert _fingerprint_of_a_sourceless_copy(tmp_path / "b", edit) != plain
