"""HT-Demucs downloads end to end, from a local server (never the internet), and the engine.

The server serves checkpoints saved the way demucs saves them, named
``<sig>-<first 8 hex of their SHA-256>.th`` like the published files; the
registry's file list is pointed at them (the real names' checksums belong to
weights no test may download). Small random-weight networks keep it fast.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from stemsplit.core.engine.separator import EngineOptions
from stemsplit.core.errors import Cancelled, ModelError
from stemsplit.core.models import install as model_install
from stemsplit.core.models import licences
from stemsplit.core.models import store as model_store
from stemsplit.core.models.htdemucs import pretrained, store
from stemsplit.core.models.registry import load_separator
from tests._htdemucs_ref import reference_model
from tests._model_archives import ht_release
from tests.core.models.htdemucs.test_checkpoint import SMALL, save_like_demucs
from tests.core.models.test_store import _cli

apply_mod = pytest.importorskip("demucs.apply")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Two small random-weight networks saved as demucs files: (models, paths)."""
    folder = tmp_path_factory.mktemp("th")
    models = [reference_model(SMALL, seed=20 + i) for i in range(2)]
    return models, [save_like_demucs(m, folder, f"aa00000{i}") for i, m in enumerate(models)]


@pytest.fixture
def release(checkpoints, monkeypatch):
    """A local server with the files; htdemucs and htdemucs_ft point at them."""
    with ht_release(checkpoints[1], monkeypatch) as state:
        yield state


def _nothing_installed(name: str = "htdemucs") -> None:
    assert not store.is_installed(name)
    assert not model_store.model_dir(name).exists()
    assert [p.name for p in model_store.models_dir().glob(".install-*")] == []


def test_download_needs_the_licence_accepted_first(release):
    with pytest.raises(licences.LicenceNotAccepted, match="research purposes") as info:
        model_install.install("htdemucs")
    assert "--accept-licence" in str(info.value)
    assert release.requests == []  # not one byte fetched
    assert model_install.needs_licence_acceptance("htdemucs") == pretrained.LICENCE
    assert model_install.needs_licence_acceptance("4stems") is None  # MIT: nothing to accept
    _nothing_installed()


def test_accepted_download_installs_and_separates_like_demucs(release, checkpoints,
                                                              demo_audio):
    reports = []
    folder = model_install.install("htdemucs", progress=reports.append, accept_licence=True)
    assert licences.is_accepted(pretrained.LICENCE_KEY)  # recorded in the settings
    assert folder == model_store.model_dir("htdemucs") and store.is_installed("htdemucs")
    assert [p.name for p in folder.iterdir()] == [model_store.WEIGHTS_FILE]
    assert list(store.downloads_dir().iterdir()) == []  # the .th file is not kept
    stages = [r.stage for r in reports]
    assert stages[0] == "download" and "verify" in stages and stages[-1] == "convert"
    assert reports[[r.stage for r in reports].index("verify") - 1].fraction == 1.0

    audio = demo_audio.samples[:, : 5 * 44100]
    seen = []
    # fp32: the port's bar; bf16 is held to demucs in test_port.py
    separator = load_separator("htdemucs", device="cpu", options=EngineOptions(precision="fp32"))
    stems = separator.separate(audio, 44100, on_progress=seen.append)
    assert stems.names == list(pretrained.FOUR)
    # the reference pipeline: demucs's front-end normalisation around apply_model
    mix = torch.from_numpy(audio)
    ref = mix.mean(0)
    with torch.inference_mode():
        # demucs's own loader on the same (float16) file
        reference = pytest.importorskip("demucs.states").load_model(str(checkpoints[1][0]))
        theirs = apply_mod.apply_model(reference.eval(),
                                       ((mix - ref.mean()) / ref.std())[None], shifts=0)[0]
    theirs = (theirs * ref.std() + ref.mean()).numpy()
    for i, name in enumerate(stems.names[:-1]):
        assert np.abs(stems.stems[name] - theirs[i]).max() < 1e-4, name
    # the last stem is the mix minus the others (random weights' estimates do not sum
    # to the mix, so it differs from the network's own vocals here), so they sum exactly
    assert np.abs(stems.mix() - audio).max() < 1e-6
    # progress: one record per network call, honest fractions, ETA, masks in [0, 1]
    assert seen[0].fraction == 0.0 and seen[-1].fraction == 1.0 and seen[-1].eta_s == 0
    assert all(p.eta_s is not None for p in seen[1:])
    frames = sum(p.masks.masks.shape[-1] for p in seen if p.masks is not None)
    assert frames == (audio.shape[1] - 1) // 1024 + 1
    masks = np.concatenate([p.masks.masks for p in seen if p.masks is not None], axis=-1)
    assert masks.shape[:2] == (4, 2049) and 0 <= masks.min() and masks.max() <= 1
    # each bin's shares add up to one, as the built-in model's masks (the read-out: 100 %)
    np.testing.assert_allclose(masks.sum(axis=0), 1.0, atol=1e-5)
    assert sum(p.stems.length for p in seen if p.stems is not None) == audio.shape[1]


def test_mono_input_at_another_rate_and_cancel(release):
    model_install.install("htdemucs", accept_licence=True)
    separator = load_separator("htdemucs", device="cpu", options=EngineOptions(shifts=1))
    rng = np.random.default_rng(0)
    mono = (0.1 * rng.standard_normal((1, 48000 * 2))).astype(np.float32)
    stems = separator.separate(mono, 48000)
    assert all(s.shape == mono.shape for s in stems.stems.values())
    assert np.abs(stems.mix() - mono).max() < 1e-6
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        separator.separate(mono, 48000, cancel=cancel, on_progress=lambda p: cancel.set())


def test_wrong_checksum_is_refused_and_nothing_kept(release, checkpoints):
    licences.accept(pretrained.LICENCE_KEY)
    name = checkpoints[1][0].name
    release.files[f"/{name}"] = b"not the published file"
    with pytest.raises(ModelError, match="damaged or not the published file"):
        store.install("htdemucs")
    _nothing_installed()
    assert list(store.downloads_dir().iterdir()) == []


def test_interrupted_download_resumes(release, checkpoints):
    licences.accept(pretrained.LICENCE_KEY)
    path = checkpoints[1][0]
    release.cut_once[f"/{path.name}"] = 5000
    with pytest.raises(model_store.DownloadError, match="broke off") as info:
        store.install("htdemucs")
    assert "--from FILE_OR_FOLDER" in str(info.value)
    _nothing_installed()
    assert (store.downloads_dir() / f"{path.name}.part").stat().st_size == 5000
    store.install("htdemucs")
    assert release.requests[-1] == (f"/{path.name}", "bytes=5000-")
    assert store.is_installed("htdemucs")


def test_a_bag_downloads_every_file_and_keeps_finished_ones_for_a_retry(release, checkpoints):
    licences.accept(pretrained.LICENCE_KEY)
    _, paths = checkpoints
    release.cut_once[f"/{paths[1].name}"] = 100
    with pytest.raises(model_store.DownloadError):
        store.install("htdemucs_ft")
    assert (store.downloads_dir() / paths[0].name).is_file()  # finished and verified
    store.install("htdemucs_ft")
    assert [r[0] for r in release.requests].count(f"/{paths[0].name}") == 1
    bag = store.load("htdemucs_ft")
    assert len(bag.members) == 2 and bag.weights == [[1, 1, 0, 0], [0, 0, 1, 1]]
    assert store.remove("htdemucs_ft") and not store.is_installed("htdemucs_ft")


def test_install_from_files_offline_and_cancel(checkpoints, monkeypatch, tmp_path):
    _, paths = checkpoints
    monkeypatch.setenv(pretrained.URL_ENV, "http://127.0.0.1:9/")  # nothing listens
    monkeypatch.setitem(pretrained.PRETRAINED, "htdemucs_ft", pretrained.Pretrained(
        "htdemucs_ft", tuple(p.name for p in paths), pretrained.FOUR))
    monkeypatch.setitem(pretrained.PRETRAINED, "htdemucs", pretrained.Pretrained(
        "htdemucs", (paths[0].name,), pretrained.FOUR))
    licences.accept(pretrained.LICENCE_KEY)
    with pytest.raises(ModelError, match="bag of 2 files; pass the folder"):
        store.install("htdemucs_ft", source=paths[0])
    store.install("htdemucs_ft", source=paths[0].parent)
    store.install("htdemucs", source=paths[0])
    assert store.is_installed("htdemucs_ft") and store.is_installed("htdemucs")
    renamed = tmp_path / paths[0].name
    renamed.write_bytes(paths[1].read_bytes())  # the other file under this one's name
    with pytest.raises(ModelError, match="not the published file"):
        store.install("htdemucs", source=renamed)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        store.install("htdemucs", source=paths[0], cancel=cancel)
    with pytest.raises(model_store.DownloadError, match="--from"):
        store.install("htdemucs_6s")


def test_not_installed_model_says_how_to_install():
    with pytest.raises(ModelError, match="stemsplit models install htdemucs_6s"):
        load_separator("htdemucs_6s", device="cpu")


def test_cli_shows_the_terms_and_installs_only_once_accepted(capsys, release):
    code, out, _ = _cli(capsys, "list")
    assert code == 0
    assert "licence: HT-Demucs weights (Meta AI): research purposes only" in out
    assert "--accept-licence" in out and f"terms: {pretrained.LICENCE}" in out
    code, _, err = _cli(capsys, "install", "htdemucs")  # stdin is not a terminal here
    assert code == 2 and "research purposes" in err and "--accept-licence" in err
    assert release.requests == []
    code, out, err = _cli(capsys, "install", "htdemucs", "--accept-licence")
    assert code == 0, err
    assert "installed htdemucs" in out and "convert" in err
    code, out, _ = _cli(capsys, "list")
    line = next(x for x in out.splitlines() if x.startswith("htdemucs "))
    assert line.rstrip().endswith("installed") and "(accepted)" in out
    assert f"terms: {pretrained.LICENCE}" not in out  # other families may still list theirs
    code, out, _ = _cli(capsys, "remove", "htdemucs")
    assert code == 0 and "removed htdemucs" in out and not store.is_installed("htdemucs")


def test_a_bag_installs_from_its_files_renamed_or_not(release, checkpoints, tmp_path):
    licences.accept(pretrained.LICENCE_KEY)
    _, paths = checkpoints
    stranger = tmp_path / "other.th"
    stranger.write_bytes(b"not a checkpoint of this bag")
    with pytest.raises(ModelError, match="other.th is not one of the htdemucs_ft files"):
        store.install("htdemucs_ft", source=[paths[0], stranger])
    with pytest.raises(ModelError, match="bag of 2 files"):
        store.install("htdemucs_ft", source=[paths[0], paths[0]])  # the same file twice
    copy = tmp_path / "copy.th"
    copy.write_bytes(paths[0].read_bytes())
    with pytest.raises(ModelError, match=f"copy.th is a second copy of {paths[0].name}"):
        store.install("htdemucs_ft", source=[paths[0], copy])
    renamed = tmp_path / "download (1).th"  # what a browser saves a second copy as
    renamed.write_bytes(paths[1].read_bytes())
    store.install("htdemucs_ft", source=[renamed, paths[0]])
    assert store.load("htdemucs_ft").weights == [[1, 1, 0, 0], [0, 0, 1, 1]]
    assert release.requests == [] and renamed.is_file()  # the user's files are kept
    with pytest.raises(ModelError, match="one archive"):
        model_install.install("4stems", source=[paths[0], paths[1]])
