"""The 4- and 5-stem models with random weights (their real weights cannot be fetched here).

Checks the registry entries, the architecture each configuration builds (ELU,
softmax head), masks that sum to one, and full separations through the engine
that sum back to the mix.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from stemsplit.core.errors import ModelError
from stemsplit.core.models import store as model_store
from stemsplit.core.models.registry import get_model, list_models
from stemsplit.core.models.spleeter.unet import StemUNets, UNet


def _random_states(n_stems: int, config, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Weights of freshly initialised U-Nets, with non-trivial batch-norm statistics."""
    torch.manual_seed(seed)
    states = []
    for _ in range(n_stems):
        net = UNet(config)
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
        states.append({k: v.numpy().copy() for k, v in net.state_dict().items()
                       if not k.endswith("num_batches_tracked")})
    return states


def test_registry_offers_two_four_and_five_stems():
    names = [m.name for m in list_models()]
    assert names[:3] == ["2stems", "4stems", "5stems"]
    four, five = get_model("4stems"), get_model("5stems")
    assert four.stems == ("vocals", "drums", "bass", "other")
    assert five.stems == ("vocals", "piano", "drums", "bass", "other")
    for info in (four, five):
        assert (info.unet.encoder_activation, info.unet.decoder_activation) == ("elu", "elu")
        assert info.archive == info.name and info.archive in model_store.ARCHIVES
        assert model_store.ARCHIVES[info.archive] == len(info.stems)
        assert not info.is_installed()  # a fresh cache: nothing downloaded
    assert four.unet.sigmoid_head and not five.unet.sigmoid_head
    assert get_model("2stems").archive is None and get_model("2stems").is_installed()


@pytest.mark.parametrize("name", ["4stems", "5stems"])
def test_not_installed_model_says_how_to_install(name):
    with pytest.raises(ModelError, match=f"stemsplit models install {name}"):
        get_model(name).load_weights()


@pytest.mark.parametrize("name", ["4stems", "5stems"])
def test_architecture_from_configuration(name):
    info = get_model(name)
    nets = StemUNets(len(info.stems), info.unet)
    assert len(nets.nets) == len(info.stems)
    net = nets.nets[0]
    assert isinstance(net.down1_act[1], nn.ELU) and isinstance(net.up1[2], nn.ELU)
    assert isinstance(net.up7[-1], nn.Sigmoid) == info.unet.sigmoid_head
    # the same parameter names as the 2-stem model, so one converter serves all
    assert set(net.state_dict()) == set(UNet().state_dict())


@pytest.mark.parametrize("name", ["4stems", "5stems"])
def test_masks_shape_and_range(name):
    info = get_model(name)
    nets = StemUNets(len(info.stems), info.unet).eval()
    for net, state in zip(nets.nets, _random_states(len(info.stems), info.unet), strict=True):
        net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    mag = torch.rand(1, 2, 64, 128) * 3
    with torch.inference_mode():
        out = nets(mag)
    assert out.shape == (len(info.stems), 1, 2, 64, 128)
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    total = out.sum(dim=0)
    if info.unet.sigmoid_head:
        assert not torch.allclose(total, torch.ones_like(total), atol=1e-3)  # independent
    else:
        torch.testing.assert_close(total, torch.ones_like(total))  # softmax across stems


@pytest.fixture(scope="module")
def short_mix(demo_audio) -> tuple[np.ndarray, int]:
    """Four seconds of the demo song (enough for one chunk; keeps CPU time low)."""
    sr = demo_audio.sample_rate
    return np.ascontiguousarray(demo_audio.samples[:, sr * 3: sr * 7]), sr


@pytest.mark.parametrize("name", ["4stems", "5stems"])
def test_separation_with_installed_random_weights(name, short_mix):
    """Weights saved in the store's format load through the registry and separate."""
    from safetensors.numpy import save_file

    from stemsplit.core.models.registry import load_separator

    info = get_model(name)
    states = _random_states(len(info.stems), info.unet, seed=len(info.stems))
    path = model_store.weights_path(name)
    path.parent.mkdir(parents=True)
    save_file({f"unet{i}.{k}": v for i, s in enumerate(states) for k, v in s.items()},
              str(path), metadata={"format": model_store.FORMAT, "model": name,
                                   "n_stems": str(len(info.stems))})
    assert info.is_installed()
    loaded = info.load_weights()
    for mine, saved in zip(loaded, states, strict=True):
        assert all(np.array_equal(mine[k], saved[k]) for k in saved)

    audio, sr = short_mix
    separator = load_separator(name, device="cpu")
    assert separator.stems == info.stems
    masks = []
    out = {stem: np.zeros_like(audio) for stem in info.stems}
    for progress in separator.iter_separate(audio, sr):
        if progress.masks is not None:
            masks.append(progress.masks.masks)
        if progress.stems is not None:
            start = progress.stems.start
            for stem, block in progress.stems.audio.items():
                out[stem][:, start:start + block.shape[1]] = block
    assert set(out) == set(info.stems)
    for stem in info.stems:
        assert np.isfinite(out[stem]).all()
    np.testing.assert_allclose(sum(out.values()), audio, atol=1e-5)
    # every stem gets some of the signal and the masks share each bin out fully
    energies = [float(np.mean(out[s] ** 2)) for s in info.stems]
    assert min(energies) > 0
    block = masks[0]
    assert block.shape[0] == len(info.stems) and block.shape[1] == 2049
    np.testing.assert_allclose(block.sum(axis=0), 1.0, atol=1e-4)


def test_weights_of_the_wrong_stem_count_are_refused():
    from safetensors.numpy import save_file

    info = get_model("5stems")
    states = _random_states(4, info.unet)
    path = model_store.weights_path("5stems")
    path.parent.mkdir(parents=True)
    save_file({f"unet{i}.{k}": v for i, s in enumerate(states) for k, v in s.items()},
              str(path), metadata={"format": model_store.FORMAT, "model": "4stems",
                                   "n_stems": "4"})
    with pytest.raises(ModelError, match="does not hold the 5-stem model"):
        info.load_weights()


def test_engine_accepts_a_replaced_model_info(short_mix):
    """The engine only reads ModelInfo: a 4-stem info with in-memory weights works too."""
    from stemsplit.core.models.registry import load_separator

    info = get_model("4stems")
    states = _random_states(4, info.unet, seed=7)
    custom = dataclasses.replace(info, load_weights=lambda: states, is_installed=lambda: True)
    audio, sr = short_mix
    stems = load_separator(custom, device="cpu").separate(audio[:1], sr)  # mono in, mono out
    assert all(stems.stems[s].shape == (1, audio.shape[1]) for s in stems.names)
    np.testing.assert_allclose(stems.mix(), audio[:1], atol=1e-5)
