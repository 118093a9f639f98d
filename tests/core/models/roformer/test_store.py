"""RoFormer downloads end to end from a local server on 127.0.0.1 (never the internet).

The server serves a small random-weight checkpoint saved as the community saves
them (``torch.save`` of a state dict) and its YAML config, under the published
file names of one registry entry.
"""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch

from stemsplit.core.engine.separator import EngineOptions
from stemsplit.core.errors import ModelError
from stemsplit.core.models import install as model_install
from stemsplit.core.models import licences
from stemsplit.core.models import store as model_store
from stemsplit.core.models.registry import get_model, load_separator
from stemsplit.core.models.roformer import pretrained, store
from stemsplit.core.models.roformer.checkpoint import read_ckpt
from stemsplit.core.models.roformer.spec import separate_chunk
from tests._model_archives import ServerState, archive_server
from tests.core.models.roformer._small import reference_and_weights, small_config, small_yaml

NAME = "bs-roformer-viperx-1296"  # no published SHA-256: pinned on first install
MODEL = pretrained.get(NAME)


def _ckpt_bytes(state: dict[str, torch.Tensor], wrap: bool = False) -> bytes:
    buffer = io.BytesIO()
    torch.save({"state_dict": {f"model.{k}": v for k, v in state.items()}} if wrap else state,
               buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def weights():
    return reference_and_weights(small_config(arch="bs", chunk_frames=40), seed=5)[1]


@pytest.fixture
def server(weights, monkeypatch):
    state = ServerState(files={f"/{MODEL.ckpt}": _ckpt_bytes(weights.state),
                               f"/{MODEL.yaml}": small_yaml("bs", chunk_frames=40).encode()})
    with archive_server(state) as url:
        monkeypatch.setenv(pretrained.URL_ENV, url)
        yield state


def test_licence_first_then_download_with_progress_and_separate(server, weights, demo_audio):
    assert "the author states no licence; personal use at your own risk" in \
        get_model(NAME).licence
    with pytest.raises(licences.LicenceNotAccepted, match="no licence"):
        model_install.install(NAME)
    assert server.requests == []  # nothing fetched before the terms were accepted
    offer = model_install.download_offer(NAME)
    assert offer.files == (MODEL.ckpt, MODEL.yaml) and offer.terms == MODEL.terms
    reports = []
    folder = model_install.install(NAME, progress=reports.append, accept_licence=True)
    assert store.is_installed(NAME) and [p.name for p in folder.iterdir()] == [
        model_store.WEIGHTS_FILE]
    assert [r.stage for r in reports][-2:] == ["verify", "convert"]
    assert any(r.stage == "download" and r.fraction == 1.0 for r in reports)
    assert list(store.downloads_dir().iterdir()) == []
    assert store.pinned_sha256(NAME) is not None  # no published checksum: pinned now

    audio = demo_audio.samples[:, : 44100]
    sep = load_separator(NAME, device="cpu", options=EngineOptions(precision="fp32"))
    stems = sep.separate(audio, 44100)
    assert stems.names == ["vocals", "other"]
    assert np.abs(stems.mix() - audio).max() < 1e-6
    with torch.inference_mode():  # the installed weights are the served ones
        x = torch.from_numpy(np.ascontiguousarray(audio[:, :17640]))[None]
        a = separate_chunk(sep.net, x)
        b = separate_chunk(weights.build(), x)
    assert torch.equal(a, b)


def test_broken_download_resumes(server, monkeypatch):
    licences.accept(MODEL.licence_key)
    server.cut_once[f"/{MODEL.ckpt}"] = 5000
    with pytest.raises(model_install.model_store.DownloadError, match="broke off"):
        store.install(NAME)
    assert (store.downloads_dir() / f"{MODEL.ckpt}.part").stat().st_size == 5000
    store.install(NAME)
    ranges = [r for p, r in server.requests if p == f"/{MODEL.ckpt}"]
    assert ranges == [None, "bytes=5000-"]


def test_install_from_file_wrapped_lightning_style_and_pin_mismatch(tmp_path, weights):
    licences.accept(MODEL.licence_key)
    ckpt, yaml = tmp_path / "a.ckpt", tmp_path / "a.yaml"
    ckpt.write_bytes(_ckpt_bytes(weights.state, wrap=True))
    yaml.write_text(small_yaml("bs", chunk_frames=40))
    model_install.install(NAME, source=[yaml, ckpt])
    assert store.is_installed(NAME)
    other = reference_and_weights(small_config(arch="bs", chunk_frames=40), seed=6)[1]
    ckpt.write_bytes(_ckpt_bytes(other.state))
    with pytest.raises(ModelError, match="not the bs-roformer-viperx-1296 checkpoint "
                                         "installed before"):
        model_install.install(NAME, source=[ckpt, yaml])
    with pytest.raises(ModelError, match="two files"):
        model_install.install(NAME, source=[ckpt])


class _Boom:
    def __reduce__(self):
        return (eval, ("open('PWNED', 'w')",))


def test_pickle_code_never_runs_and_misfits_are_refused(tmp_path, monkeypatch, weights):
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil.ckpt"
    with open(evil, "wb") as fh:
        pickle.dump({"layers.0.weight": _Boom()}, fh)
    with pytest.raises(ModelError, match="cannot be read safely|not a checkpoint"):
        read_ckpt(evil)
    assert not (tmp_path / "PWNED").exists()
    licences.accept(MODEL.licence_key)
    wrong = tmp_path / "wrong.ckpt"
    wrong.write_bytes(_ckpt_bytes({k: v for k, v in list(weights.state.items())[:-3]}))
    yaml = tmp_path / "x.yaml"
    yaml.write_text(small_yaml("bs", chunk_frames=40))
    with pytest.raises(ModelError, match="does not fit the network"):
        model_install.install(NAME, source=[wrong, yaml])
    assert not store.is_installed(NAME)


@pytest.mark.parametrize("name", ["bs-roformer-viperx-1297", "mel-roformer-kim"])
def test_a_published_sha256_refuses_any_other_file(tmp_path, weights, name):
    model = pretrained.get(name)
    assert store.pinned_sha256(name) == model.sha256 and len(model.sha256) == 64
    assert get_model(name).download_mb == round(model.size / 1e6)
    licences.accept(model.licence_key)
    ckpt, yaml = tmp_path / model.ckpt, tmp_path / model.yaml
    ckpt.write_bytes(_ckpt_bytes(weights.state))  # the right layout, not the published file
    yaml.write_text(small_yaml("bs", chunk_frames=40))
    with pytest.raises(ModelError, match=f"damaged or not the {name} checkpoint published"):
        model_install.install(name, source=[ckpt, yaml])
    assert not store.is_installed(name)
