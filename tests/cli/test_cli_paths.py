"""`stemsplit separate` writes only where it should: inside -o, never over an input,
never over a file it was not asked to replace; odd names are a per-file matter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import soundfile as sf

from stemsplit.cli.main import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, main
from stemsplit.core.audio.export import MAX_NAME_BYTES, expand_pattern
from stemsplit.core.audio.song_folder import RECORD_NAME

PRECIOUS = b"my precious take"


@pytest.fixture(scope="module")
def clip(demo_audio):
    return demo_audio.samples[:, :44100]  # one second keeps every run short


def song(path: Path, clip) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, clip.T, 44100, subtype="PCM_16", format="WAV")
    return path


def precious(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PRECIOUS)
    return path


def audio_files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() and p.suffix == ".wav"}


def test_dot_and_device_names_stay_inside_the_output_folder(clip, tmp_path, capsys):
    inputs = tmp_path / "in"
    names = ["...wav", "..wav", "con.wav", "   .wav"]
    files = [song(inputs / name, clip) for name in names]
    mine = precious(tmp_path / "parent" / "vocals.wav")
    out = tmp_path / "parent" / "out"
    rc = main(["separate", *map(str, files), "-o", str(out), "--overwrite", "-q"])
    assert rc == EXIT_OK, capsys.readouterr().err
    assert mine.read_bytes() == PRECIOUS
    folders = sorted(p.name for p in out.iterdir())
    assert len(folders) == len(names) and "_con" in folders
    for name in folders:
        assert name.strip(". ") == name and name
        assert {p.name for p in (out / name).iterdir()} == {"vocals.wav", "accompaniment.wav",
                                                           RECORD_NAME}
    # --name-pattern cannot climb out of the song's folder either
    for pattern in ["../../<stem>", f"{tmp_path}/parent/<stem>", "<song>/../<stem>"]:
        rc = main(["separate", str(files[0]), "-o", str(out), "--name-pattern", pattern,
                   "--overwrite", "-q"])
        assert rc == EXIT_OK, capsys.readouterr().err
    assert mine.read_bytes() == PRECIOUS
    assert audio_files(tmp_path) == set(files) | {mine} | audio_files(out)
    assert expand_pattern("../<stem>", song="s", stem="vocals") == "_vocals.wav"
    assert "/" not in expand_pattern("/abs/<song>/../<stem>", song="..", stem="x")


def test_a_symlinked_song_folder_cannot_lead_outside(clip, tmp_path, capsys):
    src = song(tmp_path / "in" / "tune.wav", clip)
    elsewhere = tmp_path / "elsewhere"
    mine = precious(elsewhere / "vocals.wav")
    out = tmp_path / "out"
    out.mkdir()
    (out / "tune").symlink_to(elsewhere, target_is_directory=True)
    rc = main(["separate", str(src), "-o", str(out), "--overwrite"])
    assert rc == EXIT_FAILED
    assert mine.read_bytes() == PRECIOUS
    assert not (elsewhere / "accompaniment.wav").exists()
    err = capsys.readouterr().err
    assert "outside the output folder" in err and "Traceback" not in err


def test_overwrite_never_replaces_an_input(clip, tmp_path, capsys):
    st = tmp_path / "st"
    src = song(st / "vocals" / "vocals.wav", clip)
    before = src.read_bytes()
    other = song(tmp_path / "in" / "other.wav", clip)
    rc = main(["separate", str(src), str(other), "-o", str(st), "--overwrite"])
    assert rc == EXIT_PARTIAL
    assert src.read_bytes() == before
    assert not (st / "vocals" / "accompaniment.wav").exists()
    assert (st / "other" / "vocals.wav").exists()
    err = capsys.readouterr().err
    assert "is an input" in err and "Traceback" not in err


def test_a_hard_link_to_an_input_is_not_written_over(clip, tmp_path, capsys):
    src = song(tmp_path / "in" / "tune.wav", clip)
    out = tmp_path / "out"
    (out / "tune").mkdir(parents=True)
    os.link(src, out / "tune" / "accompaniment.wav")
    rc = main(["separate", str(src), "-o", str(out), "--overwrite"])
    assert rc == EXIT_FAILED
    assert "is an input" in capsys.readouterr().err
    assert not (out / "tune" / "vocals.wav").exists()
    assert os.path.samefile(src, out / "tune" / "accompaniment.wav")


def test_output_folder_inside_an_input_folder_is_not_read_again(clip, tmp_path, capsys):
    music = tmp_path / "music"
    song(music / "tune.wav", clip)
    out = music / "separated"
    for _ in range(2):
        assert main(["separate", str(music), "-o", str(out), "-q"]) == EXIT_OK
    assert sorted(p.name for p in out.iterdir()) == ["tune"]
    assert main(["separate", str(out), "-o", str(out), "-q"]) == EXIT_FAILED
    assert "output folder" in capsys.readouterr().err


def test_missing_stems_are_written_and_existing_ones_kept(clip, tmp_path, capsys):
    src = song(tmp_path / "in" / "tune.wav", clip)
    out = tmp_path / "out"
    mine = precious(out / "tune" / "vocals.wav")
    assert main(["separate", str(src), "-o", str(out)]) == EXIT_OK
    assert mine.read_bytes() == PRECIOUS
    assert (out / "tune" / "accompaniment.wav").exists()
    assert sf.info(out / "tune" / "accompaniment.wav").frames == clip.shape[1]
    text = capsys.readouterr().out
    assert "kept" in text and "vocals" in text
    assert main(["separate", str(src), "-o", str(out)]) == EXIT_OK
    assert "skipped" in capsys.readouterr().out
    assert mine.read_bytes() == PRECIOUS


def test_missing_stems_with_a_rate_in_the_pattern(clip, tmp_path, capsys):
    src = song(tmp_path / "in" / "tune.wav", clip)
    out = tmp_path / "out"
    mine = precious(out / "tune" / "vocals 44100.wav")
    args = ["separate", str(src), "-o", str(out), "--name-pattern", "<stem> <rate>"]
    assert main(args) == EXIT_OK, capsys.readouterr().err
    assert mine.read_bytes() == PRECIOUS
    assert (out / "tune" / "accompaniment 44100.wav").exists()
    capsys.readouterr()
    assert main(args) == EXIT_OK  # everything exists: skipped, not an error
    assert "skipped" in capsys.readouterr().out


def test_long_names_that_truncate_alike_get_their_own_folders(clip, tmp_path, capsys):
    files = [song(tmp_path / "a" / ("x" * 250 + ".wav"), clip),
             song(tmp_path / "b" / ("x" * 250 + ".wav"), clip),
             song(tmp_path / "c" / ("x" * 230 + "c.wav"), clip),
             song(tmp_path / "d" / "Tune.wav", clip),
             song(tmp_path / "e" / "TUNE.wav", clip)]
    out = tmp_path / "out"
    rc = main(["separate", *map(str, files), "-o", str(out), "-q"])
    assert rc == EXIT_OK, capsys.readouterr().err
    folders = [p.name for p in out.iterdir()]
    assert len({f.casefold() for f in folders}) == len(files)
    assert all(len(f.encode()) <= MAX_NAME_BYTES + 10 for f in folders)
    assert all(len(list((out / f).glob("*.wav"))) == 2 for f in folders)


def test_a_name_too_long_fails_that_file_only(clip, tmp_path, capsys):
    short = song(tmp_path / "in" / "a.wav", clip)
    typo = tmp_path / "in" / ("y" * 300 + ".wav")  # no file system takes such a name
    rc = main(["separate", str(typo), str(short), "-o", str(tmp_path / "out")])
    assert rc == EXIT_PARTIAL
    err = capsys.readouterr().err
    assert "Traceback" not in err and typo.name in err
    assert (tmp_path / "out" / "a" / "vocals.wav").exists()


def test_long_song_names_keep_the_stem_in_a_pattern():
    name = expand_pattern("<song> - <stem>", song="é" * 300, stem="accompaniment")
    assert name.endswith("é - accompaniment.wav")
    assert len(name.encode()) <= MAX_NAME_BYTES + len(".wav")
