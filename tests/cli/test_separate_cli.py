"""`stemsplit separate` end to end on real files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from stemsplit.cli.main import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, main
from tests.conftest import db


@pytest.fixture(scope="module")
def songs(tmp_path_factory, demo_audio):
    folder = tmp_path_factory.mktemp("songs")
    clip = demo_audio.samples[:, : 44100 * 4]
    sf.write(folder / "stereo.flac", clip.T, 44100, subtype="PCM_24")
    sf.write(folder / "mono48k.wav", clip[0], 48000, subtype="PCM_16")  # plays faster; fine
    (folder / "corrupt.mp3").write_bytes(b"\x00garbage" * 500)
    return folder, clip


def test_batch_with_a_bad_file(songs, tmp_path, capsys):
    folder, clip = songs
    out = tmp_path / "out"
    rc = main(["separate", str(folder / "stereo.flac"), str(folder / "corrupt.mp3"),
               str(folder / "mono48k.wav"), "-o", str(out)])
    assert rc == EXIT_PARTIAL
    err = capsys.readouterr().err
    assert "corrupt.mp3" in err and "Traceback" not in err
    voc, rate = sf.read(out / "stereo" / "vocals.wav", always_2d=True)
    acc, _ = sf.read(out / "stereo" / "accompaniment.wav", always_2d=True)
    assert rate == 44100 and voc.shape == (clip.shape[1], 2)
    assert sf.info(out / "stereo" / "vocals.wav").subtype == "PCM_24"
    residual = clip.T - voc - acc
    assert db(np.sum(residual ** 2) / np.sum(clip ** 2)) < -50  # 24-bit keeps the sum
    mono, rate = sf.read(out / "mono48k" / "vocals.wav", always_2d=True)
    assert rate == 48000 and mono.shape == (clip.shape[1], 1)
    assert not (out / "corrupt").exists() or not any((out / "corrupt").iterdir())
    assert not list(out.rglob("*.partial"))


def test_existing_outputs_are_skipped_unless_overwrite(songs, tmp_path, capsys):
    folder, _ = songs
    out = tmp_path / "out"
    target = out / "stereo" / "vocals.flac"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"my precious take")
    args = ["separate", str(folder / "stereo.flac"), "-o", str(out), "--format", "flac",
            "--bit-depth", "16", "--stems", "vocals"]
    assert main(args) == EXIT_OK
    assert target.read_bytes() == b"my precious take"
    assert "skipped" in capsys.readouterr().out
    assert main([*args, "--overwrite"]) == EXIT_OK
    info = sf.info(target)
    assert info.format == "FLAC" and info.subtype == "PCM_16"
    assert not (out / "stereo" / "accompaniment.flac").exists()


def test_folder_input_and_total_failure(songs, tmp_path):
    folder, _ = songs
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.wav").write_bytes(b"RIFF....nonsense")
    assert main(["separate", str(bad), "-o", str(tmp_path / "o"), "-q"]) == EXIT_FAILED
    assert main(["separate", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "o")]) \
        == EXIT_FAILED


def test_unknown_stem_is_a_usage_error(songs, tmp_path, capsys):
    folder, _ = songs
    rc = main(["separate", str(folder / "stereo.flac"), "-o", str(tmp_path), "--stems", "drums"])
    assert rc == EXIT_FAILED
    assert "drums" in capsys.readouterr().err


def test_entry_point_runs_as_a_module(tmp_path):
    result = subprocess.run([sys.executable, "-m", "stemsplit", "separate", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "--bit-depth" in result.stdout


def test_rate_pattern_and_peaks(songs, tmp_path):
    folder, clip = songs
    out = tmp_path / "out"
    rc = main(["separate", str(folder / "stereo.flac"), "-o", str(out), "--rate", "48k",
               "--name-pattern", "<song> - <stem>", "--bit-depth", "32f", "-q"])
    assert rc == EXIT_OK
    voc, rate = sf.read(out / "stereo" / "stereo - vocals.wav", always_2d=True)
    acc, _ = sf.read(out / "stereo" / "stereo - accompaniment.wav", always_2d=True)
    assert rate == 48000 and voc.shape[0] == round(clip.shape[1] * 48000 / 44100)
    # sample 0 stays sample 0: the resampled sum matches the resampled mix
    import soxr
    mix48 = soxr.resample(clip.T, 44100, 48000)
    n = min(len(mix48), len(voc)) - 100
    assert db(np.sum((mix48[:n] - voc[:n] - acc[:n]) ** 2) / np.sum(mix48[:n] ** 2)) < -40


def test_precision_is_chosen_and_printed(songs, tmp_path, capsys):
    """--precision reaches the engine and the run says which one ran; fp16 has no CPU
    kernels, so asking for it on the CPU is a clear error before anything is written."""
    from stemsplit.core.engine.precision import resolve_precision

    folder, clip = songs
    short = tmp_path / "short.wav"
    sf.write(short, clip[:, : 44100 * 2].T, 44100)
    written = {}
    for precision in ("fp32", "auto"):
        out = tmp_path / precision
        assert main(["separate", str(short), "-o", str(out), "--device", "cpu",
                     "--precision", precision]) == EXIT_OK
        text = capsys.readouterr().out
        expected = resolve_precision(precision, "cpu")
        assert f"precision: {expected.describe()}" in text
        assert f"real time on cpu, {expected.name})" in text
        written[precision], _ = sf.read(out / "short" / "vocals.wav")
    # whatever auto picked agrees with fp32 (bf16 networks; STFT and masks in fp32); these
    # 2 s have hardly any vocals, so the difference is measured against the mix
    err = written["auto"] - written["fp32"]
    assert db(np.sum(err ** 2) / np.sum(clip[:, : 44100 * 2] ** 2)) < -40
    out = tmp_path / "fp16"
    assert main(["separate", str(short), "-o", str(out), "--device", "cpu",
                 "--precision", "fp16"]) == EXIT_FAILED
    assert "fp16 runs on CUDA and MPS only" in capsys.readouterr().err
    assert not list(out.rglob("*.wav"))
