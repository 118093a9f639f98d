"""Dataset readers on the real MUSDB18 excerpt, re-laid out as MUSDB18-HQ and mix + stems."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from stemsplit.core.errors import DatasetError
from stemsplit.core.evaluation.datasets import (
    MUSDB_STREAMS,
    find_tracks,
    load_estimates,
)


def write(path, audio, rate=44100):
    path.parent.mkdir(parents=True, exist_ok=True)
    subtype = "FLOAT" if path.suffix == ".wav" else "PCM_24"
    sf.write(path, np.asarray(audio).T, rate, subtype=subtype)


def test_stem_file_decodes_like_stempeg(musdb_path, musdb_track):
    import stempeg  # test-only reference reader (ffmpeg)

    ref, rate = stempeg.read_stems(str(musdb_path))
    assert rate == musdb_track.sample_rate == 44100
    n = min(ref.shape[1], musdb_track.mixture.shape[1])
    assert abs(ref.shape[1] - musdb_track.mixture.shape[1]) < 2048
    ours = [musdb_track.mixture] + [musdb_track.references[s] for s in MUSDB_STREAMS[1:]]
    for i, a in enumerate(ours):
        np.testing.assert_allclose(a[:, :n], ref[i, :n].T, atol=1e-6)
    acc = musdb_track.references["accompaniment"]
    np.testing.assert_allclose(acc, sum(musdb_track.references[s]
                                        for s in ("drums", "bass", "other")), atol=1e-6)


def test_musdb_folder_with_subsets_is_found(tmp_path, musdb_path):
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / musdb_path.name).symlink_to(musdb_path)
    tracks = find_tracks(tmp_path)
    assert [t.name for t in tracks] == ["The Easton Ellises - Falcon 69"]
    assert tracks[0].layout == "musdb"
    assert tracks[0].stems == ("drums", "bass", "other", "vocals", "accompaniment")


def test_hq_layout_reads_the_same_audio(tmp_path, musdb_short):
    track_dir = tmp_path / "train" / "Falcon 69"
    write(track_dir / "mixture.wav", musdb_short.mixture)
    for s in ("drums", "bass", "other", "vocals"):
        write(track_dir / f"{s}.wav", musdb_short.references[s])
    (track_dir / "notes.txt").write_text("not audio")
    [track] = find_tracks(tmp_path)
    assert track.name == "Falcon 69" and track.layout == "folder"
    audio = track.load()
    np.testing.assert_array_equal(audio.mixture, musdb_short.mixture)
    for s in ("drums", "bass", "other", "vocals", "accompaniment"):
        np.testing.assert_allclose(audio.references[s], musdb_short.references[s], atol=1e-6)
    only = track.load(("vocals",))
    assert list(only.references) == ["vocals"]
    # The derived accompaniment does not depend on what else is loaded.
    pair = track.load(("vocals", "accompaniment"))
    np.testing.assert_array_equal(pair.references["accompaniment"],
                                  audio.references["accompaniment"])


def test_mix_and_vocals_give_accompaniment_as_mix_minus_vocals(tmp_path, musdb_short):
    write(tmp_path / "song" / "Mix.flac", musdb_short.mixture)
    write(tmp_path / "song" / "vocals.wav", musdb_short.references["vocals"])
    [track] = find_tracks(tmp_path / "song")
    assert track.stems == ("vocals", "accompaniment")
    audio = track.load(("vocals", "accompaniment"))
    np.testing.assert_allclose(audio.mixture, musdb_short.mixture, atol=1e-6)
    np.testing.assert_array_equal(audio.references["accompaniment"],
                                  audio.mixture - audio.references["vocals"])


def message(excinfo) -> str:
    return str(excinfo.value)


def test_bad_reference_folders_get_a_clear_message(tmp_path, musdb_short):
    mix, voc = musdb_short.mixture, musdb_short.references["vocals"]
    # a stem asked for that the folder lacks
    write(tmp_path / "a" / "mixture.wav", mix)
    write(tmp_path / "a" / "vocals.wav", voc)
    with pytest.raises(DatasetError) as e:
        find_tracks(tmp_path / "a")[0].load(("vocals", "drums"))
    assert message(e) == "a: no reference for drums (it has vocals, accompaniment)"
    # different lengths
    write(tmp_path / "b" / "mixture.wav", mix)
    write(tmp_path / "b" / "vocals.wav", voc[:, :-4410])
    with pytest.raises(DatasetError, match=r"b: vocals.wav lasts 3.900 s but mixture.wav "
                                           r"4.000 s .*stems must be as long as the mixture"):
        find_tracks(tmp_path / "b")[0].load()
    # different rates
    write(tmp_path / "c" / "mixture.wav", mix)
    write(tmp_path / "c" / "vocals.wav", voc, rate=48000)
    with pytest.raises(DatasetError, match=r"c: the files have different sample rates "
                                           r"\(mixture.wav 44100 Hz, vocals.wav 48000 Hz\)"):
        find_tracks(tmp_path / "c")[0].load()
    # mono stem beside a stereo mixture
    write(tmp_path / "d" / "mixture.wav", mix)
    write(tmp_path / "d" / "vocals.wav", voc[:1])
    with pytest.raises(DatasetError, match="d: vocals.wav is mono but mixture.wav is stereo"):
        find_tracks(tmp_path / "d")[0].load()
    # a mixture and nothing else; an empty folder; nothing there at all
    write(tmp_path / "e" / "mix.wav", mix)
    with pytest.raises(DatasetError, match="e: mix.wav has no stem files beside it"):
        find_tracks(tmp_path / "e")
    (tmp_path / "f").mkdir()
    with pytest.raises(DatasetError, match="no tracks found"):
        find_tracks(tmp_path / "f")
    with pytest.raises(DatasetError, match="no such file or folder"):
        find_tracks(tmp_path / "missing")
    # a corrupt stem file names the track and the file
    write(tmp_path / "g" / "mixture.wav", mix)
    (tmp_path / "g" / "vocals.wav").write_bytes(b"RIFF0000WAVEjunk" * 10)
    with pytest.raises(DatasetError, match=r"^g: .*vocals.wav"):
        find_tracks(tmp_path / "g")[0].load()


def test_estimates_are_cut_or_padded_and_checked(tmp_path, musdb_short):
    n = musdb_short.mixture.shape[1]
    voc = musdb_short.references["vocals"]
    write(tmp_path / "est" / "Falcon" / "vocals.wav", voc[:, :-100])
    write(tmp_path / "est" / "Falcon" / "accompaniment.wav",
          np.pad(musdb_short.mixture - voc, ((0, 0), (0, 50))))
    got = load_estimates(tmp_path / "est", "Falcon", ("vocals", "accompaniment"), 44100, (2, n))
    assert got["vocals"].shape == got["accompaniment"].shape == (2, n)
    assert not got["vocals"][:, -100:].any()
    with pytest.raises(DatasetError, match="Falcon: no estimate of drums"):
        load_estimates(tmp_path / "est", "Falcon", ("drums",), 44100, (2, n))
    with pytest.raises(DatasetError, match="Falcon: vocals.wav is at 44100 Hz, the references "
                                           "at 48000 Hz"):
        load_estimates(tmp_path / "est", "Falcon", ("vocals",), 48000, (2, n))
    with pytest.raises(DatasetError, match="Falcon: vocals.wav is stereo, the references mono"):
        load_estimates(tmp_path / "est", "Falcon", ("vocals",), 44100, (1, n))
