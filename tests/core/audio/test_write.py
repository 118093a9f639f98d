"""The one module that writes audio: formats, bit depths, TPDF dither, clipping, atomicity."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
import soundfile as sf

from stemsplit.core.audio.write import (
    ALLOWED,
    BIT_DEPTHS,
    FORMATS,
    AudioWriter,
    OutputFormat,
    check_writable,
    tpdf_dither,
    write_audio,
)
from stemsplit.core.errors import AudioWriteError

SR = 44100
LSB16 = 2.0 ** -15
ALL_FORMATS = [OutputFormat(f, b) for f, b in itertools.product(FORMATS, BIT_DEPTHS)
               if ALLOWED.get((f, b), True)]
# Worst error after writing: 16 bit = 1 LSB dither + 1/2 LSB rounding; 24 bit = rounding.
TOLERANCE = {"16": 1.5 * LSB16 + 1e-7, "24": 2.0 ** -23 + 1e-8, "32f": 0.0}


def music_like(frames: int = SR, channels: int = 2, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / SR
    tone = 0.5 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 3520 * t)
    audio = np.stack([tone, -tone])[:channels] + 0.05 * rng.standard_normal((channels, frames))
    audio[:, 0] = 0.9  # a marker on sample 0 proves nothing shifts the start
    return audio.astype(np.float32)


@pytest.mark.parametrize("fmt", ALL_FORMATS, ids=lambda f: f.describe())
def test_round_trip_every_format_and_depth(tmp_path, fmt):
    audio = music_like()
    path = write_audio(tmp_path / f"x.{fmt.extension}", audio, SR, fmt)
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.frames) == (SR, 2, audio.shape[1])
    assert info.format == FORMATS[fmt.format]
    assert info.subtype == BIT_DEPTHS[fmt.bit_depth]
    back = sf.read(path, dtype="float32", always_2d=True)[0].T
    assert back.shape == audio.shape
    assert np.abs(back - audio).max() <= TOLERANCE[fmt.bit_depth]
    assert abs(back[0, 0] - 0.9) <= TOLERANCE[fmt.bit_depth]


def test_flac_float_is_refused():
    with pytest.raises(AudioWriteError, match="FLAC"):
        OutputFormat("flac", "32f")
    with pytest.raises(AudioWriteError, match="unknown format"):
        OutputFormat("mp3", "16")
    with pytest.raises(AudioWriteError, match="unknown bit depth"):
        OutputFormat("wav", "8")


def _write_read_16(tmp_path, audio: np.ndarray, seed: int = 0) -> np.ndarray:
    path = write_audio(tmp_path / f"d{seed}.wav", audio, SR, OutputFormat("wav", "16"), seed=seed)
    return sf.read(path, dtype="float64", always_2d=True)[0].T


def test_16_bit_uses_tpdf_dither_within_two_lsb(tmp_path):
    # A sine of 0.4 LSB: plain rounding turns it into digital silence, so the
    # error is exactly minus the signal (fully correlated). With TPDF dither
    # the sine survives inside the noise and the error is uncorrelated with it.
    t = np.arange(4 * SR)
    sine = (0.4 * LSB16 * np.sin(2 * np.pi * 441 * t / SR))[None, :]
    back = _write_read_16(tmp_path, sine.astype(np.float32))
    err = back - sine
    assert np.abs(err).max() <= 2 * LSB16
    plain = np.round(sine / LSB16) * LSB16
    assert np.abs(plain).max() == 0.0  # the premise: rounding alone loses it
    corr_plain = np.corrcoef((plain - sine)[0], sine[0])[0, 1]
    corr_dither = np.corrcoef(err[0], sine[0])[0, 1]
    assert corr_plain < -0.99
    assert abs(corr_dither) < 0.05
    # The dithered output still carries the sine: its projection onto it is ~1.
    gain = float((back[0] * sine[0]).sum() / (sine[0] ** 2).sum())
    assert 0.9 < gain < 1.1


@pytest.mark.parametrize("level", [0.0, 0.25, 0.5])
def test_tpdf_error_has_no_bias_and_constant_power(tmp_path, level):
    # TPDF dither makes the quantiser unbiased and its noise power independent
    # of the signal (LSB^2 / 4); plain rounding of 0.25 LSB is biased by -0.25.
    dc = np.full((1, 2 * SR), level * LSB16, dtype=np.float64)
    back = _write_read_16(tmp_path, dc.astype(np.float32))
    err = (back - dc) / LSB16
    assert abs(err.mean()) < 0.02
    assert 0.2 < err.var() < 0.3
    assert np.abs(err).max() <= 2.0


def test_tpdf_dither_shape_and_range():
    rng = np.random.default_rng(0)
    d = tpdf_dither((200_000,), 16, rng)
    assert d.dtype == np.float32
    assert np.abs(d).max() < LSB16
    assert abs(d.mean()) < 0.01 * LSB16
    assert abs(d.var() / LSB16 ** 2 - 1 / 6) < 0.01  # triangular on [-1, 1] LSB


def test_integer_output_clips_and_counts_float_keeps_overs(tmp_path):
    audio = np.array([[0.5, 1.5, -2.0, 0.25]], dtype=np.float32)
    with AudioWriter(tmp_path / "c.wav", SR, 1, OutputFormat("wav", "24")) as w:
        w.write(audio)
        w.commit()
    assert w.clipped == 2
    assert w.peak == pytest.approx(2.0)
    back = sf.read(tmp_path / "c.wav", dtype="float32")[0]
    assert back[1] == pytest.approx(1.0, abs=1e-6) and back[2] == -1.0
    write_audio(tmp_path / "f.wav", audio, SR, OutputFormat("wav", "32f"))
    assert np.array_equal(sf.read(tmp_path / "f.wav", dtype="float32")[0], audio[0])


def test_streaming_blocks_equal_one_write(tmp_path):
    audio = music_like(10_000)
    fmt = OutputFormat("flac", "24")
    with AudioWriter(tmp_path / "s.flac", SR, 2, fmt) as w:
        for start in range(0, 10_000, 777):
            w.write(audio[:, start:start + 777])
        w.commit()
    write_audio(tmp_path / "o.flac", audio, SR, fmt)
    a = sf.read(tmp_path / "s.flac", dtype="int32")[0]
    b = sf.read(tmp_path / "o.flac", dtype="int32")[0]
    assert w.frames == 10_000 and np.array_equal(a, b)


def test_existing_file_is_never_overwritten_without_asking(tmp_path):
    target = tmp_path / "mine.wav"
    target.write_bytes(b"the user's file")
    with pytest.raises(AudioWriteError, match="already exists"):
        write_audio(target, music_like(100), SR)
    assert target.read_bytes() == b"the user's file"
    write_audio(target, music_like(100), SR, overwrite=True)
    assert sf.info(target).frames == 100
    assert sorted(os.listdir(tmp_path)) == ["mine.wav"]


def test_file_appearing_during_write_is_not_clobbered(tmp_path):
    target = tmp_path / "race.wav"
    with AudioWriter(target, SR, 2) as w:
        w.write(music_like(100))
        target.write_bytes(b"arrived meanwhile")
        with pytest.raises(AudioWriteError, match="already exists"):
            w.commit()
    assert target.read_bytes() == b"arrived meanwhile"
    assert os.listdir(tmp_path) == ["race.wav"]


def test_abort_and_exceptions_leave_nothing(tmp_path):
    with AudioWriter(tmp_path / "a.wav", SR, 2) as w:
        w.write(music_like(1000))
        assert w.temp_path.exists() and w.temp_path.name.startswith(".")
        w.abort()
    with pytest.raises(RuntimeError), AudioWriter(tmp_path / "b.wav", SR, 2) as w:
        w.write(music_like(1000))
        raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_bad_blocks_give_clear_errors_and_no_file(tmp_path):
    with pytest.raises(AudioWriteError, match="channels"), \
            AudioWriter(tmp_path / "a.wav", SR, 2) as w:
        w.write(np.zeros((1, 10), np.float32))
    bad = np.zeros((2, 10), np.float32)
    bad[0, 3] = np.nan
    with pytest.raises(AudioWriteError, match="NaN"):
        write_audio(tmp_path / "b.wav", bad, SR)
    assert os.listdir(tmp_path) == []


def test_written_file_is_not_private(tmp_path):
    umask = os.umask(0o022)
    try:
        path = write_audio(tmp_path / "p.wav", music_like(10), SR)
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_check_writable_reports_missing_space(tmp_path):
    check_writable(tmp_path / "new" / "folder", 1000)
    assert (tmp_path / "new" / "folder").is_dir()
    with pytest.raises(AudioWriteError, match="not enough free space"):
        check_writable(tmp_path, 1 << 62)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(AudioWriteError):
        check_writable(tmp_path / "file")


@pytest.mark.parametrize("bits", ["16", "24"])
def test_integer_samples_are_the_float64_rounding_of_the_dithered_block(tmp_path, bits):
    # the written integers are exactly rint((x + dither) * 2^(bits-1)) computed in float64,
    # clipped, for a float32 block with overs, exact halves and full scale
    audio = music_like(SR // 2, 2, seed=7).astype(np.float32)
    audio[:, ::997] = 1.3
    audio[0, 5], audio[1, 5] = -1.0, 1.0 - 2.0 ** -16
    audio[:, 7] = 0.5 * 2.0 ** -15 * np.array([1, 3])
    path = write_audio(tmp_path / "q.wav", audio, SR, OutputFormat("wav", bits), seed=11)
    got = sf.read(path, dtype="int32", always_2d=True)[0].T
    data = audio.T
    if bits == "16":
        data = data + tpdf_dither(data.shape, 16, np.random.default_rng(11))
    full = 2.0 ** (int(bits) - 1)
    want = np.clip(np.rint(data.astype(np.float64) * full), -full, full - 1).T
    shift = 32 - int(bits)
    assert np.array_equal(got >> shift, want.astype(np.int64))
