"""Your own RoFormer checkpoint, end to end through the CLI: install under a name of your
choosing, list, separate with ``--model``, combine in an ensemble, remove; bad configs refused.

The checkpoints are the reference package's networks with random weights, saved as the
community saves them (``torch.save`` of a state dict) beside a YAML in the published layout.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
import torch

from stemsplit.cli.main import build_parser, main
from stemsplit.cli.models import run_models
from stemsplit.core.models import store as model_store
from stemsplit.core.models.registry import get_model, list_models, load_separator
from stemsplit.core.models.roformer.custom import LICENCE
from stemsplit.core.models.roformer.spec import separate_chunk
from tests.core.models.roformer._small import reference_and_weights, small_config, small_yaml


def cli(*argv: str) -> tuple[int, str]:
    args = build_parser().parse_args(["models", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = run_models(args, out, err)
    return code, out.getvalue() + err.getvalue()


def write_pair(folder, stem: str, **kwargs) -> tuple:
    """``stem.ckpt`` (random weights) and ``stem.yaml``; returns their paths and the weights."""
    weights = reference_and_weights(small_config(**kwargs), seed=3)[1]
    ckpt, yaml = folder / f"{stem}.ckpt", folder / f"{stem}.yaml"
    torch.save(weights.state, ckpt)
    yaml.write_text(small_yaml(**kwargs))
    return ckpt, yaml, weights


@pytest.mark.parametrize("stereo", [False, True], ids=["mono", "stereo"])
def test_install_list_separate_ensemble_remove(tmp_path, demo_audio, stereo):
    arch = "mel" if stereo else "bs"
    ckpt, yaml, weights = write_pair(tmp_path, "mine", arch=arch, stereo=stereo,
                                     chunk_frames=40)
    code, text = cli("install", "my-vox", "--from", str(ckpt), str(yaml))
    assert code == 0, text
    assert f"installed my-vox in {model_store.model_dir('my-vox')}" in text and LICENCE in text
    arch_name = "Mel-Band RoFormer" if stereo else "BS-RoFormer"
    info = get_model("my-vox")
    assert info.stems == ("vocals", "other") and info.licence == LICENCE
    assert f"your {arch_name} 32x2, {'stereo' if stereo else 'mono'}" in info.title

    code, text = cli("list")
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("my-vox "))
    assert "vocals, other" in lines[row] and "installed (your own checkpoint)" in lines[row]
    assert "licence unknown: you supplied this file" in lines[row + 1]

    # separate through the CLI; the stems are the network's and sum to the mix
    mix = np.ascontiguousarray(demo_audio.samples[:, 5 * 44100: 8 * 44100])
    song, out = tmp_path / "song.wav", tmp_path / "stems"
    sf.write(song, mix.T, 44100, subtype="FLOAT")
    assert main(["separate", str(song), "--model", "my-vox", "--device", "cpu",
                 "--precision", "fp32", "-o", str(out), "--format", "wav", "--bit-depth", "32f",
                 "--quiet"]) == 0
    files = sorted(p.name for p in out.rglob("*.wav"))
    assert len(files) == 2 and any("vocals" in f for f in files), files
    stems = {s: sf.read(next(out.rglob(f"*{s}*.wav")), always_2d=True, dtype="float32")[0].T
             for s in ("vocals", "other")}
    assert np.abs(stems["vocals"] + stems["other"] - mix).max() < 1e-5  # 32-bit float files
    assert np.abs(stems["vocals"]).max() > 1e-3  # the network did separate something
    sep = load_separator("my-vox", device="cpu")
    with torch.inference_mode():  # the installed network is the one in the checkpoint
        x = torch.from_numpy(np.ascontiguousarray(mix[: 2 if stereo else 1, :17640]))[None]
        assert torch.equal(separate_chunk(sep.net, x), separate_chunk(weights.build(), x))

    # an ensemble member like any other (the built-in separates vocals too)
    code, text = cli("ensemble", "save", "mixed", "2stems+my-vox")
    assert code == 0 and "saved mixed: 2stems+my-vox -> vocals" in text, text
    audio = mix[:, :44100]
    result = load_separator("2stems*2+my-vox@max_spec", device="cpu").separate(audio, 44100)
    assert result.names[0] == "vocals"
    assert np.abs(result.mix() - audio).max() < 1e-5

    assert cli("path", "my-vox") == (0, f"{model_store.model_dir('my-vox')}\n")
    # the name is now taken by the user's model; a reinstall replaces it
    code, text = cli("install", "--name", "my-vox", "--from", str(ckpt), "--config", str(yaml))
    assert code == 0, text
    assert cli("ensemble", "remove", "mixed")[0] == 0
    assert cli("remove", "my-vox") == (0, "removed my-vox\n")
    assert "my-vox" not in [m.name for m in list_models()]


def test_bad_configs_and_names_are_refused_in_one_sentence(tmp_path):
    ckpt, yaml, _ = write_pair(tmp_path, "mine", arch="bs", stereo=False, chunk_frames=40)
    cases = {
        # a key that would change the network and that stemsplit does not implement
        "unknown key": (small_yaml(arch="bs", stereo=False).replace(
            "  dim: 32\n", "  dim: 32\n  use_shared_bias: true\n"), "use_shared_bias"),
        # bands that do not add up to the STFT's bins
        "bands": (small_yaml(arch="bs", stereo=False).replace("  - 257\n", "  - 250\n"),
                  "the bands hold"),
        "channels": (small_yaml(arch="bs", stereo=False).replace(
            "num_channels: 1", "num_channels: 2"), "num_channels is 2 but the model is mono"),
        "not yaml": ("model: [unclosed\n", "not a readable YAML config"),
        "python object": ("model: !!python/object/apply:os.system ['true']\n",
                          "not a readable YAML config"),
        "dim": (small_yaml(arch="bs", stereo=False).replace("dim: 32", "dim: -3"),
                "'dim' must be an integer >= 1"),
    }
    for label, (text, message) in cases.items():
        bad = tmp_path / f"bad-{label.replace(' ', '-')}.yaml"
        bad.write_text(text)
        code, out = cli("install", "my-bad", "--from", str(ckpt), str(bad))
        assert code != 0 and message in out, (label, out)
        assert out.startswith("error: ") and "Traceback" not in out and out.count("\n") == 1
        assert not model_store.model_dir("my-bad").exists(), label

    huge = tmp_path / "huge.yaml"
    huge.write_text(small_yaml(arch="bs", stereo=False) + "#" * (2 << 20))
    code, out = cli("install", "my-bad", "--from", str(ckpt), str(huge))
    assert code != 0 and "too large for a model config" in out

    # weights that do not fit the config (a stereo YAML for a mono network)
    stereo_yaml = tmp_path / "stereo.yaml"
    stereo_yaml.write_text(small_yaml(arch="bs", stereo=True, chunk_frames=40))
    code, out = cli("install", "my-bad", "--from", str(ckpt), str(stereo_yaml))
    assert code != 0 and "does not fit the network its config describes" in out
    code, out = cli("install", "2stems-own", "--from", str(ckpt))
    assert code != 0 and "two files: its checkpoint (.ckpt) and its config (.yaml)" in out
    code, out = cli("install", "Bad Name", "--from", str(ckpt), str(yaml))
    assert code != 0 and "cannot name a model" in out
    code, out = cli("install", "somebody-else")
    assert code != 0 and "pass its files: --from CKPT YAML" in out
    assert [m for m in list_models() if m.licence == LICENCE] == []


def test_a_trained_model_may_not_take_your_own_models_or_an_ensembles_name(tmp_path):
    from stemsplit.core.errors import ModelError
    from stemsplit.core.training.setup import TrainRequest, prepare

    ckpt, yaml, _ = write_pair(tmp_path, "mine", arch="bs", stereo=False, chunk_frames=40)
    assert cli("install", "my-vox", "--from", str(ckpt), str(yaml))[0] == 0
    assert cli("ensemble", "save", "pair", "2stems+my-vox")[0] == 0
    for taken in ("my-vox", "pair", "2stems"):
        # refused before any track is read (the data folder does not even exist)
        with pytest.raises(ModelError, match="already the name of a model"):
            prepare(TrainRequest(data=(tmp_path / "no-data",), name=taken))
    assert get_model("my-vox").licence == LICENCE  # still yours, not hidden
