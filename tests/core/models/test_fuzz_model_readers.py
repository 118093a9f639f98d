"""Property-based fuzzing of the model readers a user can be handed (issue 22).

Each reader runs in a subprocess (tests/_fuzz_models.py) under an address-space
limit and a time bound, on mutants of valid files: the real Spleeter index, a
small bundle, a small release-style archive, HT-Demucs's configuration. Only
ModelError may come out. A few hundred examples per reader by default (derandomised,
so CI is repeatable); set ``STEMSPLIT_FUZZ_EXAMPLES`` for more (random then).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from tests._bounded import run_module_bounded
from tests._fuzz import examples as fuzz_examples
from tests._model_archives import lite_checkpoint_dir, tar_bytes
from tests._tf_bundle import write_bundle

EXAMPLES = fuzz_examples()
MEMORY_LIMIT = 1536 << 20  # address space: numpy, hypothesis and a bounded reader fit
TORCH_MEMORY_LIMIT = 6 << 30  # torch's libraries alone map a few GB of address space
TIME_LIMIT_S = 300 + EXAMPLES  # the whole run; hypothesis bounds each example (10 s)


def _small_bundle(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    arrays = {"conv2d/kernel": rng.standard_normal((5, 5, 2, 4)).astype(np.float32),
              "conv2d/kernel/Adam": rng.standard_normal((5, 5, 2, 4)).astype(np.float32),
              "conv2d/bias": rng.standard_normal(4).astype(np.float32),
              "global_step": np.array(7, np.int64)}
    folder.mkdir(parents=True)
    write_bundle(folder / "model", arrays, n_shards=1, per_block=2)
    return folder


def _seed(target: str, tmp_path: Path) -> Path:
    if target == "index":
        path = tmp_path / "seed.index"
        shutil.copy(lite_checkpoint_dir() / "model.index", path)
        return path
    if target == "checkpoint":
        return _small_bundle(tmp_path / "bundle")
    if target == "archive":
        bundle = _small_bundle(tmp_path / "bundle")
        files = {p.name: p.read_bytes() for p in bundle.iterdir()}
        path = tmp_path / "seed.tar.gz"
        path.write_bytes(tar_bytes({"checkpoint": b'model_checkpoint_path: "model"\n', **files}))
        return path
    if target == "thfile":
        import torch

        from tests._htdemucs_ref import reference_model

        model = reference_model(dict(sources=["a", "b"], channels=8, nfft=512, depth=2,
                                     t_layers=1, t_heads=2, segment=1), seed=0)
        args, kwargs = model._init_args_kwargs
        path = tmp_path / "seed.th"
        torch.save({"klass": model.__class__, "args": args, "kwargs": kwargs,
                    "state": {k: v.half() for k, v in model.state_dict().items()},
                    "training_args": {}}, path)
        return path
    from stemsplit.core.models.htdemucs import pretrained
    from stemsplit.core.models.htdemucs.config import HTDemucsConfig

    path = tmp_path / "config.json"
    path.write_text(HTDemucsConfig.from_kwargs(pretrained.REFERENCE_KWARGS["htdemucs"]).to_json())
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS is POSIX")
@pytest.mark.parametrize("target", ["index", "checkpoint", "archive", "htconfig",
                                    pytest.param("thfile", marks=pytest.mark.slow)])
def test_readers_raise_only_model_error(target, tmp_path):
    seed = _seed(target, tmp_path)
    if target == "thfile":
        from stemsplit.core.models.htdemucs.checkpoint import read_demucs_checkpoint

        read_demucs_checkpoint(seed).build()  # the seed itself is a valid checkpoint
    examples = max(EXAMPLES // 4, 10) if target == "thfile" else EXAMPLES  # torch.load is slow
    proc = run_module_bounded("tests._fuzz_models", target, str(seed), str(tmp_path / "work"),
                              str(examples), timeout_s=TIME_LIMIT_S,
                              limit_bytes=TORCH_MEMORY_LIMIT if target == "thfile"
                              else MEMORY_LIMIT)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]
    assert f"fuzz {target}: {examples} examples, only ModelError" in proc.stdout
