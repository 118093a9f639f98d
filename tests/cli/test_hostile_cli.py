"""`stemsplit separate` against hostile inputs (issue 22, batch CLI items 1, 2, 7, 8, 10-13).

One real batch (a few short songs among bad inputs) runs once; each test then
checks one item on what it printed and wrote. The quick refusals run on their own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stemsplit.cli.main import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, main
from stemsplit.core.audio.song_folder import RECORD_NAME

ESC_NAME = "bad\nname\x1b]0;TITLE\x07"  # a newline and an escape that retitles a terminal


def song(path: Path, clip: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, clip.T, 44100, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def clip(demo_audio) -> np.ndarray:
    return demo_audio.samples[:, 44100 * 3: 44100 * 3 + 44100 * 3 // 2]  # 1.5 s


@pytest.fixture(scope="module")
def batch(tmp_path_factory, clip):
    """Run one batch; return (rc, stdout, stderr, inputs folder, output folder)."""
    root = tmp_path_factory.mktemp("hostile")
    good = root / "in" / "good"
    song(good / "a.wav", clip)
    song(good / "-rf.wav", clip)
    song(good / f"{ESC_NAME}.wav", clip)
    os.rename(os.fsencode(song(good / "cafe.wav", clip)), os.fsencode(good) + b"/caf\xe9.wav")
    cut = song(good / "cut.wav", clip)
    os.truncate(cut, 44 + (os.path.getsize(cut) - 44) // 2)
    noise = np.random.default_rng(3).integers(0, 255, 50_000, np.uint8)  # no 0xFF: no MPEG sync
    (good / "noise.mp3").write_bytes(noise.tobytes())
    os.symlink(good, good / "loop")  # a folder that links back to itself
    os.symlink(good / "gone.wav", good / "dangling.wav")
    os.symlink("self.wav", good / "self.wav")
    selfloop = root / "in" / "selfloop.wav"
    os.symlink(selfloop.name, selfloop)
    fifo = root / "in" / "fifo.wav"
    os.mkfifo(fifo)
    long_name = root / "in" / ("y" * 300 + ".wav")
    out = root / "out"
    inputs = [good, selfloop, fifo, "/dev/zero", long_name]
    import contextlib
    import io

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = main(["separate", *map(str, inputs), "-o", str(out)])
    return rc, stdout.getvalue(), stderr.getvalue(), good, out


def test_summary_line_counts_and_names_the_output(batch):
    rc, stdout, stderr, _, out = batch
    assert rc == EXIT_PARTIAL
    assert f"5 split, 5 failed, 0 skipped; stems in {out}{os.sep}" in stderr


def test_loops_are_reported_and_the_good_files_still_split(batch):  # item 1
    rc, stdout, stderr, good, out = batch
    assert "Traceback" not in stderr and "RuntimeError" not in stderr
    assert f"warning: {good / 'loop'}: skipped, it links back to a folder already searched" \
        in stderr
    assert f"warning: {good / 'self.wav'}: skipped, a loop of symbolic links" in stderr
    assert f"{good.parent / 'selfloop.wav'}: is a loop of symbolic links, not a file" in stderr
    assert (out / "a" / "vocals.wav").is_file()


def test_dangling_links_are_said(batch):  # item 13
    _, _, stderr, good, _ = batch
    assert f"warning: {good / 'dangling.wav'}: skipped, a link to something that does not " \
           "exist" in stderr


def test_names_that_are_not_utf8_are_split(batch):  # item 2
    _, _, stderr, _, out = batch
    assert "UnicodeEncodeError" not in stderr
    assert sorted(p.name for p in (out / "caf_").iterdir()) == [
        RECORD_NAME, "accompaniment.wav", "vocals.wav"]


def test_control_characters_are_escaped_in_every_message(batch):  # item 11
    _, stdout, stderr, _, out = batch
    assert "\x1b" not in stdout + stderr and "\x07" not in stdout + stderr
    assert "bad\\nname\\x1b]0;TITLE\\x07.wav" in stdout
    assert (out / "bad name_]0;TITLE_" / "vocals.wav").is_file()


def test_a_leading_dash_does_not_become_an_option_like_folder(batch):  # item 10
    _, _, _, _, out = batch
    assert (out / "_rf" / "vocals.wav").is_file() and not (out / "-rf").exists()


def test_fifos_and_devices_are_refused_with_their_reason(batch):  # item 8
    _, _, stderr, good, _ = batch
    assert f"{good.parent / 'fifo.wav'}: is a named pipe (FIFO), not an audio file" in stderr
    assert "/dev/zero: is a device, not an audio file" in stderr


def test_not_audio_errors_name_the_path_as_given(batch):  # item 13
    _, _, stderr, good, _ = batch
    assert f"error: {good / 'noise.mp3'}: is not an audio file stemsplit can read" in stderr
    assert "libmpg123" not in stderr and "no sample rate" not in stderr
    assert "y" * 300 + ".wav: the name is longer than the file system allows" in stderr
    assert "Errno 36" not in stderr


def test_failed_songs_leave_no_empty_folder(batch):  # item 13
    _, _, _, _, out = batch
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["a", "_rf", "bad name_]0;TITLE_", "caf_", "cut"])


def test_a_truncated_wav_is_split_with_a_warning(batch):  # item 13
    _, stdout, _, good, out = batch
    assert f"warning: {good / 'cut.wav'}: holds only 0.8 s of the 1.5 s its header promises" \
        in stdout
    assert sf.info(out / "cut" / "vocals.wav").frames == pytest.approx(44100 * 0.75, abs=2)


# -- quick refusals -----------------------------------------------------------------------


def test_an_empty_argument_is_refused_not_read_as_dot(tmp_path, monkeypatch, clip, capsys):
    song(tmp_path / "here.wav", clip)
    monkeypatch.chdir(tmp_path)
    for args in (["separate", ""], ["separate", "here.wav", "-o", ""]):
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 2
        assert "an empty name was given" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here.wav"]


@pytest.mark.parametrize("rate", ["infk", "1e400k", "nank"])
def test_absurd_rates_are_usage_errors(tmp_path, rate, capsys):
    with pytest.raises(SystemExit) as info:
        main(["separate", str(tmp_path / "x.wav"), "--rate", rate])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"invalid rate '{rate}'" in err


def test_empty_stems_is_refused_not_all(tmp_path, capsys):
    assert main(["separate", str(tmp_path / "x.wav"), "--stems", ""]) == EXIT_FAILED
    assert "unknown stem(s) (none given)" in capsys.readouterr().err


def test_an_output_folder_that_is_a_symlink_loop(tmp_path, clip, capsys):  # item 1
    loop = tmp_path / "out"
    os.symlink(loop.name, loop)
    rc = main(["separate", str(song(tmp_path / "a.wav", clip)), "-o", str(loop)])
    assert rc == EXIT_FAILED
    err = capsys.readouterr().err
    assert f"the output folder {loop} is a loop of symbolic links" in err
    assert "Traceback" not in err


@pytest.mark.skipif(sys.platform == "darwin", reason="MPS may exist on a Mac")
def test_a_missing_device_is_said_once_before_any_file(tmp_path, clip, capsys):  # item 13
    files = [song(tmp_path / f"{n}.wav", clip) for n in ("one", "two")]
    assert main(["separate", *map(str, files), "-o", str(tmp_path / "o"),
                 "--device", "mps"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert err.count("not available") == 1 and "one.wav" not in err
    assert not (tmp_path / "o").exists()


def test_a_folder_where_a_stem_should_be_is_an_error_not_a_skip(tmp_path, clip, capsys):
    source = song(tmp_path / "in" / "tune.wav", clip)  # item 12
    out = tmp_path / "out"
    (out / "tune" / "vocals.wav").mkdir(parents=True)
    (out / "tune" / "accompaniment.wav").mkdir()
    assert main(["separate", str(source), "-o", str(out)]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "vocals.wav is a folder (or another non-file) where a stem file should be" in err


@pytest.mark.slow
def test_a_different_song_with_the_same_name_is_not_skipped(tmp_path, clip, capsys):
    first = song(tmp_path / "album1" / "intro.wav", clip)  # item 12
    other = song(tmp_path / "album2" / "intro.wav", clip[:, ::-1].copy())
    out = tmp_path / "out"
    assert main(["separate", str(first), "-o", str(out), "-q"]) == EXIT_OK
    before = (out / "intro" / "vocals.wav").read_bytes()
    capsys.readouterr()
    assert main(["separate", str(other), "-o", str(out)]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert f"holds stems made from another song ({first})" in err and "--name-pattern" in err
    assert (out / "intro" / "vocals.wav").read_bytes() == before
    copy = tmp_path / "copy" / "intro.wav"  # the same song elsewhere (a copy) is the same song
    copy.parent.mkdir()
    shutil.copyfile(first, copy)
    assert main(["separate", str(copy), "-o", str(out)]) == EXIT_OK
    assert "0 split, 0 failed, 1 skipped" in capsys.readouterr().out
    assert main(["separate", str(other), "-o", str(out), "--overwrite", "-q"]) == EXIT_OK
    assert (out / "intro" / "vocals.wav").read_bytes() != before


def test_ctrl_c_during_start_up_prints_no_traceback(tmp_path, clip):  # item 10
    source = song(tmp_path / "a.wav", clip)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-m", "stemsplit", "separate", str(source),
                             "-o", str(tmp_path / "o")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    import signal
    import time

    time.sleep(0.8)  # importing numpy, soundfile, torch...
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert proc.returncode in (130, -signal.SIGINT)  # -2: before Python set its handler


def test_a_run_that_skips_still_sweeps_a_killed_runs_leftovers(batch, capsys):  # item 6
    _, _, _, good, out = batch
    folder = out / "a"
    leftovers = [folder / f".vocals.wav.{os.getpid() + 1}.k2j4h1x9.partial",  # just written
                 folder / f".accompaniment.wav.f32.{os.getppid()}.q1w2e3r4.partial"]  # live id
    for path in leftovers:
        path.write_bytes(b"\0" * 1000)
    assert main(["separate", str(good / "a.wav"), "-o", str(out)]) == EXIT_OK
    assert "skipped a.wav: its stems exist" in capsys.readouterr().out
    assert not any(p.exists() for p in leftovers)
