"""demucs checkpoints are read without running pickle code, converted once, and run the same.

Checkpoints are made the way demucs saves its models: ``serialize_model``'s dict
(``klass``, ``args``, ``kwargs``, a float16 ``state``, ``training_args``) written
by ``demucs.states.save_with_checksum``, which names the file after its SHA-256.
(``serialize_model`` itself needs omegaconf only to flatten ``training_args``;
the dict is built here with a plain one.)
"""

from __future__ import annotations

import io
import os
import pickle
from fractions import Fraction
from pathlib import Path

import pytest
import torch

from stemsplit.core.errors import ModelError
from stemsplit.core.models.htdemucs.apply import Bag, apply_bag
from stemsplit.core.models.htdemucs.checkpoint import (
    BagFile,
    read_bag,
    read_demucs_checkpoint,
    write_bag,
)
from tests._htdemucs_ref import excerpt, reference_model

states = pytest.importorskip("demucs.states")
apply_mod = pytest.importorskip("demucs.apply")

SMALL = dict(sources=["drums", "bass", "other", "vocals"], channels=8, depth=4,
             segment=Fraction(39, 50), t_layers=2, t_heads=2, bottom_channels=32,
             dconv_mode=3)


def save_like_demucs(model, folder: Path, stem: str = "abcdef12") -> Path:
    """Write ``model`` as demucs does; returns ``folder/<stem>-<sha256[:8]>.th``."""
    args, kwargs = model._init_args_kwargs
    package = {"klass": model.__class__, "args": args, "kwargs": kwargs,
               "state": states.get_state(model, None, half=True),
               "training_args": {"dset": {"segment": 10}, "weights": [1.0, 1.0, 1.0, 1.0]}}
    states.save_with_checksum(package, folder / f"{stem}.th")
    (path,) = folder.glob(f"{stem}-*.th")
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    model = reference_model(SMALL, seed=5)
    return model, save_like_demucs(model, tmp_path_factory.mktemp("ckpt"))


def test_file_name_carries_the_sha256_prefix(checkpoint):
    from stemsplit.core.models.archives import sha256_file

    _, path = checkpoint
    assert sha256_file(path).startswith(path.stem.split("-")[1])


def test_checkpoint_loads_safely_and_runs_like_demucs(checkpoint, tmp_path, demo_audio):
    _, path = checkpoint
    member = read_demucs_checkpoint(path)
    assert member.config.sources == tuple(SMALL["sources"])
    assert member.config.segment == Fraction(39, 50)
    assert member.config.bottom_channels == 32 and member.config.dconv_mode == 3
    assert all(v.dtype == torch.float16 for v in member.state.values())  # as stored
    reference = states.load_model(str(path)).eval()  # demucs's own (unsafe) loader
    mix = excerpt(demo_audio, 2.0, 2.0)
    with torch.inference_mode():
        theirs = apply_mod.apply_model(reference, mix[None], shifts=0)[0]
        mine = apply_bag(Bag.single(member.build()), mix)
        # converted once into our safetensors file, then read without any pickle
        write_bag(tmp_path / "w.safetensors", "test", BagFile([member], [[1.0] * 4]))
        again = read_bag(tmp_path / "w.safetensors", "test")
        assert again.members[0].config == member.config
        from_file = apply_bag(again.build(), mix)
    assert theirs.std() > 1e-3
    assert (mine - theirs).abs().max() < 1e-4
    assert torch.equal(from_file, mine)


def test_our_file_refuses_another_model_and_damage(checkpoint, tmp_path):
    _, path = checkpoint
    target = tmp_path / "w.safetensors"
    write_bag(target, "htdemucs", BagFile([read_demucs_checkpoint(path)], [[1.0] * 4]))
    with pytest.raises(ModelError, match="does not hold the htdemucs_6s model"):
        read_bag(target, "htdemucs_6s")
    target.write_bytes(target.read_bytes()[:1000])
    with pytest.raises(ModelError, match="damaged"):
        read_bag(target, "htdemucs")


class _RunsACommand:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("how", ["torch.save", "plain pickle", "in the kwargs"])
def test_a_malicious_pickle_is_refused_without_running(tmp_path, how):
    marker = tmp_path / "pwned"
    evil = _RunsACommand(marker)
    path = tmp_path / "evil.th"
    if how == "torch.save":
        torch.save({"klass": evil, "kwargs": {}, "state": {}}, path)
    elif how == "plain pickle":
        path.write_bytes(pickle.dumps({"klass": evil}))
    else:
        from demucs.htdemucs import HTDemucs

        torch.save({"klass": HTDemucs, "args": (), "kwargs": {"sources": ["a"], "x": evil},
                    "state": {}}, path)
    with pytest.raises(ModelError, match="cannot be read safely|not a demucs checkpoint"):
        read_demucs_checkpoint(path)
    assert not marker.exists()
    # the same file through an unrestricted loader would have run the command
    if how == "plain pickle":
        pickle.loads(path.read_bytes())
        assert marker.exists()


def test_other_demucs_models_and_quantized_weights_are_refused(tmp_path):
    from demucs.hdemucs import HDemucs
    from demucs.htdemucs import HTDemucs

    buf = io.BytesIO()
    torch.save({"klass": HDemucs, "args": (), "kwargs": {"sources": ["a"]}, "state": {}}, buf)
    (tmp_path / "h.th").write_bytes(buf.getvalue())
    with pytest.raises(ModelError, match="HDemucs model; stemsplit runs HT-Demucs only"):
        read_demucs_checkpoint(tmp_path / "h.th")
    torch.save({"klass": HTDemucs, "args": (), "kwargs": {"sources": ["a"]},
                "state": {"__quantized": True}}, tmp_path / "q.th")
    with pytest.raises(ModelError, match="quantized"):
        read_demucs_checkpoint(tmp_path / "q.th")
    torch.save({"klass": HTDemucs, "args": (), "kwargs": {"sources": ["a"], "cac": False},
                "state": {}}, tmp_path / "w.th")
    with pytest.raises(ModelError, match="cac=False"):
        read_demucs_checkpoint(tmp_path / "w.th")


def test_weights_that_do_not_fit_are_reported(checkpoint, tmp_path):
    model, _ = checkpoint
    member = read_demucs_checkpoint(save_like_demucs(model, tmp_path))
    member.state.pop("encoder.0.conv.weight")
    with pytest.raises(ModelError, match="do not fit"):
        member.build()
