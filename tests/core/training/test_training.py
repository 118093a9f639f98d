"""Training on real music: the MUSDB excerpt that stempeg ships, cut into short tracks."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from stemsplit.core.errors import DatasetError
from stemsplit.core.models.registry import get_model, list_models, load_separator
from stemsplit.core.training import data
from stemsplit.core.training.trainer import TrainConfig, Trainer

FRAMES = 64  # 1.5 s windows keep CI fast; the method is the same at 512
STEMS = ("vocals", "accompaniment")


@pytest.fixture(scope="module")
def musdb_tracks(tmp_path_factory):
    from tests._training_data import write_musdb_tracks

    return write_musdb_tracks(tmp_path_factory.mktemp("musdb-cut"))


def _trainer(root, steps=4, eval_every=2, augment=True, lr=1e-4, name="mine", seed=3):
    tracks = data.load_tracks([root], STEMS, data.window_samples(FRAMES))
    train, valid = data.split_validation(tracks, 0.34, seed)
    config = TrainConfig(name=name, stems=STEMS, base="2stems", steps=steps, batch_size=1,
                         frames=FRAMES, learning_rate=lr, eval_every=eval_every,
                         augment=augment, seed=seed)
    return Trainer(config, train, valid, get_model("2stems"), {"tracks": 2, "minutes": 0.1})


def test_windows_sum_to_their_mix_and_augmentation_remixes(musdb_tracks):
    tracks = data.load_tracks([musdb_tracks], STEMS, data.window_samples(FRAMES))
    assert [t.name for t in tracks] == ["track 0", "track 1", "track 2"]
    plain = data.WindowSampler(tracks, STEMS, FRAMES, False, np.random.default_rng(0))
    mix, targets = plain.batch(1)
    length = data.window_samples(FRAMES)
    assert mix.shape == (1, 2, length) and targets.shape == (2, 1, 2, length)
    # without augmentation a window is a piece of one real mix (same track, same place)
    rng = np.random.default_rng(0)
    track = tracks[rng.integers(len(tracks))]
    start = int(rng.integers(track.length - length + 1))
    assert np.array_equal(mix[0], track.mixture()[:, start: start + length])
    assert np.array_equal(targets[0, 0], track.sources["vocals"][:, start: start + length])
    # with it, the mix is whatever was drawn, summed: targets plus the rest, all scaled
    mixed = data.WindowSampler(tracks, STEMS, FRAMES, True, np.random.default_rng(0))
    mix, targets = mixed.batch(2)
    assert not any(np.array_equal(mix[0], t.mixture()[:, s: s + length]) for t in tracks
                   for s in range(0, t.length - length, 1024))
    assert np.abs(mix).max() > 0


def test_step_zero_is_the_base_model_exactly(musdb_tracks, demo_audio):
    trainer = _trainer(musdb_tracks, steps=0)
    progress = list(trainer.iter_train())
    assert progress[0].step == 0 and progress[0].valid_sdr is not None
    mine = get_model("mine")
    assert "trained from 2stems" in mine.summary and "mine" in {m.name for m in list_models()}
    clip = demo_audio.samples[:, : 3 * 44100]
    ours = load_separator("mine", device="cpu").separate(clip, 44100)
    base = load_separator("2stems", device="cpu").separate(clip, 44100)
    for stem in STEMS:
        assert np.array_equal(ours.stems[stem], base.stems[stem])


@pytest.mark.slow
def test_fine_tuning_lowers_the_training_loss(musdb_tracks):
    trainer = _trainer(musdb_tracks, steps=12, eval_every=12, augment=False, lr=3e-4)
    fixed = data.fixed_windows(trainer.train_tracks, STEMS, FRAMES)
    trainer.net.eval()
    before = float(trainer._loss(*fixed).detach())
    for _ in range(12):
        trainer.train_step()
    trainer.net.eval()
    after = float(trainer._loss(*fixed).detach())
    assert after < 0.97 * before, (before, after)


@pytest.mark.slow
def test_resume_continues_exactly(musdb_tracks, monkeypatch, tmp_path):
    monkeypatch.setenv("STEMSPLIT_HOME", str(tmp_path / "a"))
    whole = _trainer(musdb_tracks, steps=4)
    list(whole.iter_train())
    monkeypatch.setenv("STEMSPLIT_HOME", str(tmp_path / "b"))
    first = _trainer(musdb_tracks, steps=2)
    list(first.iter_train())
    second = _trainer(musdb_tracks, steps=4)
    second.resume()
    assert second.step == 2
    list(second.iter_train())
    assert second.history.loss == whole.history.loss
    assert second.history.valid_sdr == whole.history.valid_sdr
    for a, b in zip(second.states(), whole.states(), strict=True):
        assert all(np.array_equal(a[k], b[k]) for k in a)


def _track(root, name, files):
    folder = root / name
    folder.mkdir(parents=True)
    for stem, audio in files.items():
        sf.write(folder / f"{stem}.wav", audio.T, 44100, subtype="FLOAT")
    return folder


def test_bad_data_gets_a_sentence_naming_the_track(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.1, (2, 44100)).astype(np.float32)
    _track(tmp_path / "short", "Short One", {"mixture": x, "vocals": x[:, :22050]})
    _track(tmp_path / "mono", "Mono Vocals", {"mixture": x, "vocals": x[:1]})
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "notes.txt").write_text("no audio here")
    corrupt = _track(tmp_path / "corrupt", "Broken", {"mixture": x})
    (corrupt / "vocals.wav").write_bytes(b"RIFF\0\0\0\0WAVEjunk" * 10)
    for folder, words in (("short", "Short One"), ("mono", "Mono Vocals"),
                          ("nothing", "no tracks"), ("corrupt", "Broken")):
        with pytest.raises(DatasetError, match=words):
            data.load_tracks([tmp_path / folder], STEMS, data.window_samples(FRAMES))
