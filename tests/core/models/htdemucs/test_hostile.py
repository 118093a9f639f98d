"""Crafted HT-Demucs checkpoints and hand-edited installed models (issue 22, items 24 and 26).

A file past the SHA-256 gate (or edited on disk afterwards) must still never
build a network outside sane bounds, run torch into a raw error, or separate
with absurd weights: each ends in one ModelError sentence.
"""

from __future__ import annotations

import json
import os
import pickle
from fractions import Fraction

import pytest
import torch

from stemsplit.core.errors import ModelError
from stemsplit.core.models.htdemucs import pretrained
from stemsplit.core.models.htdemucs.checkpoint import (
    BagFile,
    read_bag,
    read_demucs_checkpoint,
    write_bag,
)
from stemsplit.core.models.htdemucs.config import HTDemucsConfig
from tests._htdemucs_ref import reference_model

SMALL = dict(sources=["drums", "bass", "other", "vocals"], channels=8, depth=4,
             segment=Fraction(39, 50), t_layers=2, t_heads=2, bottom_channels=32,
             dconv_mode=3)
FOUR = ["drums", "bass", "other", "vocals"]


@pytest.mark.parametrize("bad", [
    {"channels": 4096}, {"channels": -8}, {"channels": 0}, {"samplerate": 1},
    {"audio_channels": 64}, {"depth": 0}, {"depth": 40}, {"nfft": 3000}, {"nfft": 1 << 30},
    {"t_heads": 7}, {"t_layers": 10_000}, {"segment": 1e9}, {"segment": -1},
    {"growth": float("nan")}, {"growth": float("inf")}, {"depth": "4"}, {"depth": 4.5},
    {"cac": 2}, {"channels": True}, {"t_emb": ["sin"]}, {"stride": 0},
    {"bottom_channels": 1 << 40}, {"channels": 10 ** 400}, {"sources": ["a", "a"]},
    {"sources": []}, {"sources": "drums"}, {"sources": ["x"] * 100}, {"kernel_size": -1},
    {"norm_groups": 0}, {"dconv_comp": 0},
])
def test_every_configuration_value_is_bounded(bad):
    with pytest.raises(ModelError):
        HTDemucsConfig.from_kwargs({"sources": FOUR, **bad})


@pytest.mark.parametrize("name", sorted(pretrained.REFERENCE_KWARGS))
def test_the_published_configurations_pass(name):
    config = HTDemucsConfig.from_kwargs(pretrained.REFERENCE_KWARGS[name])
    assert 20e6 < config.estimated_parameters() < 100e6


@pytest.mark.parametrize("bad", [{"channels": 4096}, {"channels": -8}])
def test_a_crafted_checkpoint_is_refused_before_a_network_is_built(tmp_path, bad):
    from demucs.htdemucs import HTDemucs

    path = tmp_path / "crafted.th"
    torch.save({"klass": HTDemucs, "args": (), "kwargs": {"sources": FOUR, **bad},
                "state": {}}, path)
    with pytest.raises(ModelError, match=f"channels={bad['channels']}"):
        read_demucs_checkpoint(path)


@pytest.fixture(scope="module")
def good_bag(tmp_path_factory):
    model = reference_model(SMALL, seed=3)
    _, kwargs = model._init_args_kwargs
    config = HTDemucsConfig.from_kwargs(kwargs)
    state = {k: v.half() for k, v in model.state_dict().items()}
    from stemsplit.core.models.htdemucs.checkpoint import Member

    path = tmp_path_factory.mktemp("bag") / "weights.safetensors"
    write_bag(path, "htdemucs", BagFile([Member(config, state)], [[1.0] * 4]))
    return path


def _edited(good, tmp_path, meta_changes=None, tensor_fn=None, drop_checksum=False):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(good), framework="pt") as fh:
        meta = dict(fh.metadata())
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    meta.update(meta_changes or {})
    if tensor_fn is not None:
        tensors = tensor_fn(tensors)
    if drop_checksum:
        meta.pop("tensors_sha256")
    path = tmp_path / "weights.safetensors"
    save_file(tensors, str(path), metadata=meta)
    return path


def _config_with(good, **changes) -> str:
    from safetensors import safe_open

    with safe_open(str(good), framework="pt") as fh:
        data = json.loads(fh.metadata()["config0"])
    data.update(changes)
    return json.dumps(data)


def test_the_good_bag_reads(good_bag):
    bag = read_bag(good_bag, "htdemucs")
    assert bag.sources == tuple(FOUR)
    bag.members[0].build()


@pytest.mark.parametrize("case", ["channels=4096", "samplerate=1", "deep json", "bad key",
                                  "members=99", "weights of 1e30 without a checksum",
                                  "weights edited", "bag weights", "not json"])
def test_an_installed_model_edited_by_hand_is_refused(good_bag, tmp_path, case):
    kwargs: dict = {}
    if case == "channels=4096":
        kwargs["meta_changes"] = {"config0": _config_with(good_bag, channels=4096)}
    elif case == "samplerate=1":
        kwargs["meta_changes"] = {"config0": _config_with(good_bag, samplerate=1)}
    elif case == "deep json":
        kwargs["meta_changes"] = {"config0": "[" * 100_000 + "]" * 100_000}
    elif case == "not json":
        kwargs["meta_changes"] = {"weights": "{{{"}
    elif case == "bad key":
        kwargs["tensor_fn"] = lambda t: {**t, "m7.extra": torch.zeros(2)}
        kwargs["drop_checksum"] = True
    elif case == "members=99":
        kwargs["meta_changes"] = {"members": "99"}
    elif case == "bag weights":
        kwargs["meta_changes"] = {"weights": "[[1e400, 1, 1, 1]]"}
    elif case == "weights edited":
        kwargs["tensor_fn"] = lambda t: {k: v * 2 for k, v in t.items()}
    else:
        kwargs["tensor_fn"] = lambda t: {k: v.float() * 1e30 for k, v in t.items()}
        kwargs["drop_checksum"] = True
    path = _edited(good_bag, tmp_path, **kwargs)
    with pytest.raises(ModelError, match="damaged|does not hold") as info:
        read_bag(path, "htdemucs")
    assert "reinstall it with 'stemsplit models install htdemucs'" in str(info.value)


class _RunsACommand:
    def __reduce__(self):
        return (os.system, ("true",))


def test_torchs_advice_to_run_the_file_is_never_shown(tmp_path):
    path = tmp_path / "evil.th"
    torch.save({"klass": _RunsACommand(), "kwargs": {}, "state": {}}, path)
    with pytest.raises(ModelError) as info:
        read_demucs_checkpoint(path)
    message = str(info.value)
    assert "weights_only" not in message and "\x1b" not in message
    assert "asks to run code" in message
    path.write_bytes(pickle.dumps({"klass": _RunsACommand()}) + b"\x1b[2J")
    with pytest.raises(ModelError) as info:
        read_demucs_checkpoint(path)
    assert "weights_only" not in str(info.value) and "\x1b" not in str(info.value)


def test_a_fifo_checkpoint_is_refused_at_once(tmp_path):
    from tests.core.models.test_hostile_archives import _finishes

    path = tmp_path / "955717e8-8726e21a.th"
    os.mkfifo(path)
    exc = _finishes(lambda: read_demucs_checkpoint(path))
    assert isinstance(exc, ModelError) and "not a regular file" in str(exc), exc


def test_published_files_are_checked_against_their_whole_sha256(tmp_path):
    from stemsplit.core.models.htdemucs import store

    model = pretrained.get("htdemucs")
    (file,) = model.files
    assert store.expected_sha256(model, file) == store.FULL_SHA256[file]
    assert len(store.expected_sha256(pretrained.get("htdemucs_6s"), "5c90dfd2-34c22ccb.th")) == 64
    for name, model_ in pretrained.PRETRAINED.items():
        for f in model_.files:  # every published file has its whole hash, agreeing with its name
            whole = store.expected_sha256(model_, f)
            assert len(whole) == 64 and whole.startswith(model_.sha256_prefix(f)), (name, f)
    fake = tmp_path / file
    fake.write_bytes(b"not the published weights")
    with pytest.raises(ModelError, match="is damaged or not the published file"):
        store._files_from(model, [fake], None)


def test_a_symlink_loop_as_the_source_is_one_sentence(tmp_path):
    from stemsplit.core.models import licences
    from stemsplit.core.models.htdemucs import store

    licences.accept(pretrained.LICENCE_KEY)
    (tmp_path / "a.th").symlink_to(tmp_path / "b.th")
    (tmp_path / "b.th").symlink_to(tmp_path / "a.th")
    with pytest.raises(ModelError, match="is a loop of symbolic links"):
        store.install("htdemucs", source=tmp_path / "a.th")
