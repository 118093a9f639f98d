"""Export: names, exact length and alignment, sum-to-mix, peaks, what-you-hear, safety."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stemsplit.core.audio.export import (
    CEILING_DB,
    ExistingFilesError,
    PatternError,
    PeakError,
    expand_pattern,
    export_mix,
    export_stems,
    normalise_factor,
    peak_of,
    planned_paths,
    preview_names,
    render_mix,
    sanitize_filename,
)
from stemsplit.core.audio.resampling import StreamResampler, resample, resampled_length
from stemsplit.core.audio.write import ALLOWED, BIT_DEPTHS, FORMATS, OutputFormat
from stemsplit.core.errors import AudioWriteError, Cancelled, StemsplitError
from stemsplit.core.stems import StemSet

ALL_FORMATS = [OutputFormat(f, b) for f, b in itertools.product(FORMATS, BIT_DEPTHS)
               if ALLOWED.get((f, b), True)]
LSB16 = 2.0 ** -15


def read(path: Path) -> tuple[np.ndarray, int]:
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    return data.T, rate


def synthetic(n: int = 30_001, sr: int = 44100) -> StemSet:
    """Two stems with clicks at known samples, so alignment is visible."""
    rng = np.random.default_rng(3)
    a = 0.3 * rng.standard_normal((2, n)).astype(np.float32)
    b = np.zeros((2, n), np.float32)
    b[:, 0] = 0.8
    b[:, 10_000] = 0.8
    return StemSet(sr, {"vocals": a, "accompaniment": b}, model="2stems")


# --- names ----------------------------------------------------------------

@pytest.mark.parametrize("raw, safe", [
    ("My Song", "My Song"),
    ("AC/DC: Back in Black?", "AC_DC_ Back in Black_"),
    ("..hidden", "hidden"),
    ("trailing. ", "trailing"),
    ("CON", "_CON"),
    ("nul.txt", "_nul.txt"),
    ("tab\there\nnew", "tab here new"),
    ("", "untitled"),
    ("///", "___"),
])
def test_sanitize_filename(raw, safe):
    assert sanitize_filename(raw) == safe


def test_sanitize_keeps_long_unicode_names_valid():
    name = sanitize_filename("é" * 300)
    assert len(name.encode("utf-8")) <= 200
    name.encode("utf-8").decode("utf-8")


def test_default_pattern_and_preview():
    names = preview_names("<song> - <stem>", "Song 1", ["vocals", "accompaniment"])
    assert names == ["Song 1 - vocals.wav", "Song 1 - accompaniment.wav"]
    fmt = OutputFormat("aiff", "16")
    assert expand_pattern("<n> <stem> (<model>, <rate>, <bits>).wav", song="s", stem="bass",
                          fmt=fmt, model="4stems", n=3, rate=48000) \
        == "3 bass (4stems, 48000, 16).aif"
    # A slash in a title cannot escape the folder.
    assert expand_pattern("<song>-<stem>", song="../etc/passwd", stem="x") == "_etc_passwd-x.wav"


def test_bad_patterns_are_explained():
    with pytest.raises(PatternError, match="unknown field <artist>"):
        preview_names("<artist> - <stem>", "s", ["a"])
    with pytest.raises(PatternError, match="same name"):
        preview_names("<song>", "s", ["vocals", "accompaniment"])
    with pytest.raises(PatternError, match="same name"):
        preview_names("<stem>", "s", ["Vocals", "vocals"])
    with pytest.raises(PatternError, match="empty"):
        preview_names(" .wav", "s", ["a"])


# --- rate -----------------------------------------------------------------

@pytest.mark.parametrize("old, new", [(44100, 48000), (48000, 44100), (22050, 44100),
                                      (44100, 44100)])
def test_resample_exact_length_and_sample_zero_alignment(old, new):
    n = 20_011
    x = np.zeros((2, n), np.float32)
    x[:, 6000] = 1.0
    y = resample(x, old, new)
    assert y.shape == (2, resampled_length(n, old, new))
    assert y.shape[1] == round(n * new / old)
    assert abs(int(np.argmax(y[0])) - 6000 * new / old) <= 0.5


def test_resampled_length_rounds_halves_up():
    assert resampled_length(1, 2, 1) == 1  # 0.5 -> 1, where Python's round() gives 0
    assert resampled_length(441, 44100, 48000) == 480


def test_stream_resampler_matches_one_shot():
    x = np.random.default_rng(0).standard_normal((2, 50_003)).astype(np.float32)
    want = resample(x, 44100, 48000)
    rs = StreamResampler(44100, 48000, 2, x.shape[1])
    sizes = [1, 4095, 10_000, 777, 35_130]
    assert sum(sizes) == x.shape[1]
    pieces, start = [], 0
    for size in sizes:
        block = x[:, start:start + size]
        start += size
        pieces.append(rs.process(block, last=start >= x.shape[1]))
    got = np.concatenate(pieces, axis=1)
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-5


# --- export of the real stems ---------------------------------------------

@pytest.mark.parametrize("fmt", ALL_FORMATS, ids=lambda f: f.describe())
def test_round_trip_length_alignment_and_sum_to_mix(tmp_path, demo_stems, demo_audio, fmt):
    # The demo's accompaniment peaks above full scale (+0.4 dBFS), a real case
    # for the policy: all stems get one common factor, so they still sum to
    # the (equally scaled) original.
    factor = normalise_factor(peak_of(demo_stems.stems))
    assert factor < 1.0
    paths = export_stems(demo_stems, tmp_path, fmt=fmt, song="Demo", peaks="normalise")
    assert [p.name for p in paths] == [f"Demo - {s}.{fmt.extension}" for s in demo_stems.names]
    n = demo_audio.frames
    total = np.zeros_like(demo_audio.samples)
    tol = {"16": 2 * LSB16, "24": 2.0 ** -22, "32f": 1e-7}[fmt.bit_depth]
    for path, name in zip(paths, demo_stems.names, strict=True):
        audio, rate = read(path)
        assert rate == demo_audio.sample_rate and audio.shape == (2, n)
        # Aligned sample for sample with the engine's stem (no offset, no padding).
        assert np.abs(audio - factor * demo_stems.stems[name]).max() <= tol
        total += audio
    assert np.abs(total - factor * demo_audio.samples).max() <= 2 * tol + 1e-6
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in paths)


def test_float_export_at_unity_sums_back_to_the_original(tmp_path, demo_stems, demo_audio):
    paths = export_stems(demo_stems, tmp_path, fmt=OutputFormat("wav", "32f"))
    total = read(paths[0])[0] + read(paths[1])[0]
    assert np.abs(total).max() > 1.0  # float keeps the overs: nothing clipped
    assert np.abs(total - demo_audio.samples).max() < 1e-6


@pytest.mark.parametrize("rate", [48000, 44100])
def test_resampled_export_keeps_length_alignment_and_sum(tmp_path, rate):
    stems = synthetic()
    paths = export_stems(stems, tmp_path, fmt=OutputFormat("wav", "32f"), rate=rate)
    n = resampled_length(stems.length, 44100, rate)
    clicks, _ = read(paths[1])
    assert clicks.shape == (2, n)
    # The click at sample 10000 lands where 10000 samples at the old rate are.
    assert abs(int(np.argmax(clicks[0, 5000:])) + 5000 - 10_000 * rate / 44100) <= 0.5
    total = read(paths[0])[0] + clicks
    assert np.abs(total - resample(stems.mix(), 44100, rate)).max() < 1e-5


def test_subset_and_names_in_model_order(tmp_path):
    stems = synthetic()
    paths = export_stems(stems, tmp_path, "<n>-<stem>", stems=["accompaniment"])
    assert [p.name for p in paths] == ["2-accompaniment.wav"]
    with pytest.raises(StemsplitError, match="unknown stem"):
        export_stems(stems, tmp_path, stems=["drums"])
    assert os.listdir(tmp_path) == ["2-accompaniment.wav"]


def test_existing_files_are_reported_up_front_and_kept(tmp_path):
    stems = synthetic()
    first = tmp_path / "song - accompaniment.wav"
    first.write_bytes(b"keep me")
    with pytest.raises(ExistingFilesError) as info:
        export_stems(stems, tmp_path)
    assert info.value.paths == [first]
    assert first.read_bytes() == b"keep me"
    assert sorted(os.listdir(tmp_path)) == [first.name]  # not even the vocals got written
    paths = export_stems(stems, tmp_path, overwrite=True)
    assert read(paths[1])[0].shape == (2, stems.length)


def test_progress_and_cancel_leave_nothing(tmp_path):
    stems = synthetic(200_000)
    seen: list[float] = []
    export_stems(stems, tmp_path / "a", progress=lambda f, name: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 3

    cancel = threading.Event()

    def stop_midway(fraction: float, name: str) -> None:
        if fraction > 0.5:
            cancel.set()

    with pytest.raises(Cancelled):
        export_stems(stems, tmp_path / "b", progress=stop_midway, cancel=cancel)
    assert os.listdir(tmp_path / "b") == []


# --- peaks ----------------------------------------------------------------

def loud() -> StemSet:
    base = synthetic()
    return StemSet(base.sample_rate, {"vocals": 4.0 * base.stems["vocals"],
                                      "accompaniment": base.stems["accompaniment"]})


def test_peak_of_and_one_common_factor():
    stems = loud()
    peak = peak_of(stems.stems)
    assert peak == pytest.approx(np.abs(stems.stems["vocals"]).max())
    assert normalise_factor(0.5) == 1.0
    assert 20 * np.log10(normalise_factor(peak) * peak) == pytest.approx(CEILING_DB)


def test_normalise_uses_one_factor_for_all_stems(tmp_path):
    stems = loud()
    paths = export_stems(stems, tmp_path, fmt=OutputFormat("wav", "32f"), peaks="normalise")
    vocals, clicks = read(paths[0])[0], read(paths[1])[0]
    factor = normalise_factor(peak_of(stems.stems))
    assert np.abs(vocals).max() == pytest.approx(10 ** (CEILING_DB / 20), rel=1e-6)
    # Balance survives: the quiet stem is scaled by the loud stem's factor, not its own.
    assert clicks[0, 0] == pytest.approx(0.8 * factor, rel=1e-6)
    assert np.abs(vocals + clicks - factor * stems.mix()).max() < 1e-6


def test_peak_policy_error_writes_nothing_and_clip_clips(tmp_path):
    stems = loud()
    with pytest.raises(PeakError, match="dBFS"):
        export_stems(stems, tmp_path, peaks="error")
    assert os.listdir(tmp_path) == []
    paths = export_stems(stems, tmp_path, fmt=OutputFormat("wav", "24"))
    assert np.abs(read(paths[0])[0]).max() == pytest.approx(1.0, abs=1e-6)


# --- what you hear ----------------------------------------------------------

def test_karaoke_mix_equals_accompaniment_and_file_equals_render(tmp_path, demo_stems):
    karaoke = render_mix(demo_stems, {"vocals": 0.0})
    assert np.array_equal(karaoke, demo_stems.stems["accompaniment"])
    assert np.allclose(render_mix(demo_stems), demo_stems.mix(), atol=1e-6)
    gains = [0.5, 1.25]
    want = render_mix(demo_stems, gains)
    path = export_mix(demo_stems, tmp_path / "mix.wav", OutputFormat("wav", "32f"), gains=gains)
    got, rate = read(path)
    assert rate == demo_stems.sample_rate and got.shape == want.shape
    assert np.array_equal(got, want)
    assert np.allclose(want, 0.5 * demo_stems.stems["vocals"]
                       + 1.25 * demo_stems.stems["accompaniment"], atol=1e-6)
    with pytest.raises(StemsplitError, match="3 gains for 2 stems"):
        render_mix(demo_stems, [1.0, 1.0, 1.0])


@pytest.mark.parametrize("solo, mute, gains_db", [
    ((False, False), (True, False), (0.0, 0.0)),   # karaoke: vocals muted
    ((True, False), (False, False), (0.0, 0.0)),   # vocals soloed
    ((False, False), (False, False), (-6.0, 3.0)),  # faders only
    ((True, True), (True, False), (0.0, -3.0)),    # mute wins over solo
])
def test_export_of_current_mix_equals_the_mixers_output(tmp_path, demo_stems, solo, mute,
                                                        gains_db):
    from stemsplit.playback.mixer import Mixer, MixSettings, Transport

    settings = MixSettings(gains_db, solo, mute)
    mixer = Mixer(demo_stems.sample_rate, max_block=4096)
    mixer.set_sources(list(demo_stems.stems.values()), settings=settings)
    mixer.transport = Transport(playing=True, play_serial=1)
    out = np.zeros((4096, 2), np.float32)
    blocks = []
    while mixer.position < mixer.length:
        mixer.render(out)
        blocks.append(out.copy())
    played = np.concatenate(blocks)[:demo_stems.length].T
    path = export_mix(demo_stems, tmp_path / "hear.wav", OutputFormat("wav", "32f"),
                      gains=settings.gains)
    written, _ = read(path)
    assert written.shape == (2, demo_stems.length)
    skip = mixer.fade_len  # the transport fades in over its first 5 ms; a file does not
    assert np.array_equal(written[:, skip:], played[:, skip:])


# --- full disk, read-only folder --------------------------------------------

def _mount(args: list[str], where: Path) -> bool:
    if shutil.which("mount") is None:
        return False
    result = subprocess.run(["mount", *args, str(where)], capture_output=True, timeout=20)
    return result.returncode == 0


def _umount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=20)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs: room for well under a second of stereo audio."""
    where = tmp_path / "tiny"
    where.mkdir()
    if not _mount(["-t", "tmpfs", "-o", "size=256k", "tmpfs"], where):
        pytest.skip("mounting a tmpfs is not permitted here (the read-only test still runs)")
    yield where
    _umount(where)


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder nobody can write to, root included: a read-only tmpfs if we can mount."""
    where = tmp_path / "ro"
    where.mkdir()
    if _mount(["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs"], where):
        yield where
        _umount(where)
        return
    where.chmod(0o555)  # enough for an ordinary user; root ignores it
    if os.access(where, os.W_OK):
        pytest.fail("cannot make a read-only folder here (root without mount rights)")
    yield where
    where.chmod(0o755)


def test_full_disk_gives_clear_message_and_leaves_nothing(tiny_disk):
    stems = synthetic(200_000)  # ~1.6 MB as 24-bit stereo stems
    with pytest.raises(AudioWriteError, match="disk is full"):
        export_stems(stems, tiny_disk, fmt=OutputFormat("flac", "24"))  # no size pre-check
    assert os.listdir(tiny_disk) == []
    with pytest.raises(AudioWriteError, match="not enough free space"):
        export_stems(stems, tiny_disk, fmt=OutputFormat("wav", "24"))
    assert os.listdir(tiny_disk) == []
    # The first stem fits, the second does not: still all or nothing.
    noise = np.random.default_rng(5).uniform(-0.9, 0.9, (2, 30_000)).astype(np.float32)
    two = StemSet(44100, {"a": noise, "b": noise[::-1].copy()})
    with pytest.raises(AudioWriteError, match="disk is full"):
        export_stems(two, tiny_disk, fmt=OutputFormat("flac", "24"))
    assert os.listdir(tiny_disk) == []
    assert export_stems(two, tiny_disk, fmt=OutputFormat("flac", "24"), stems=["a"])


def test_read_only_folder_gives_clear_message(read_only_dir):
    with pytest.raises(AudioWriteError, match="read-only"):
        export_stems(synthetic(), read_only_dir)
    with pytest.raises(AudioWriteError, match="read-only"):
        export_mix(synthetic(), read_only_dir / "mix.wav")
    with pytest.raises(AudioWriteError, match="read-only"):
        export_stems(synthetic(), read_only_dir / "sub")
    assert os.listdir(read_only_dir) == []


def test_planned_paths_match_written(tmp_path):
    stems = synthetic()
    want = planned_paths(stems, tmp_path, "<song>_<stem>", OutputFormat("flac", "16"),
                         song="Tune")
    assert export_stems(stems, tmp_path, "<song>_<stem>", OutputFormat("flac", "16"),
                        song="Tune") == want


# --- the CLI's streaming writer (stemsplit/cli/export.py) ---------------------

def _stream(stems: StemSet, folder: Path, options, block: int = 7919) -> list[Path]:
    from stemsplit.cli.export import StemStreamWriter, stem_paths

    outputs = stem_paths(options, folder, "Song", stems.names, stems.names, stems.model,
                         stems.sample_rate)
    writer = StemStreamWriter(outputs, stems.sample_rate, 2, stems.length, options)
    for start in range(0, stems.length, block):
        writer.write({s: a[:, start:start + block] for s, a in stems.stems.items()})
    return writer.commit()


@pytest.mark.parametrize("rate, peaks", [(None, "clip"), (48000, "clip"), (48000, "normalise")])
def test_cli_stream_writer_equals_dialog_export(tmp_path, rate, peaks):
    from stemsplit.cli.export import ExportOptions

    stems = loud()
    fmt = OutputFormat("wav", "32f")
    got = _stream(stems, tmp_path / "cli", ExportOptions(fmt, rate, "<n>-<stem>", peaks))
    want = export_stems(stems, tmp_path / "gui", "<n>-<stem>", fmt, rate, peaks=peaks)
    assert [p.name for p in got] == [p.name for p in want] == ["1-vocals.wav",
                                                               "2-accompaniment.wav"]
    for a, b in zip(got, want, strict=True):
        x, y = read(a)[0], read(b)[0]
        assert x.shape == y.shape == (2, resampled_length(stems.length, 44100, rate or 44100))
        assert np.abs(x - y).max() < 1e-5


def test_cli_stream_writer_error_policy_and_abort_leave_nothing(tmp_path):
    from stemsplit.cli.export import ExportOptions

    with pytest.raises(PeakError):
        _stream(loud(), tmp_path, ExportOptions(peaks="error"))
    assert os.listdir(tmp_path) == []


def test_cli_flags_parse_into_options():
    import argparse

    from stemsplit.cli.export import add_export_arguments, output_options_from_args

    parser = argparse.ArgumentParser()
    parser.add_argument("--format", default="wav")
    parser.add_argument("--bit-depth", default="24")
    add_export_arguments(parser)
    opts = output_options_from_args(parser.parse_args(
        ["--rate", "48k", "--name-pattern", "<song> - <stem>", "--peaks", "normalise",
         "--format", "flac", "--bit-depth", "16"]))
    assert (opts.rate, opts.pattern, opts.peaks) == (48000, "<song> - <stem>", "normalise")
    assert opts.fmt == OutputFormat("flac", "16")
    assert output_options_from_args(parser.parse_args([])).rate is None
    with pytest.raises(SystemExit):
        parser.parse_args(["--rate", "96000"])
    with pytest.raises(PatternError):
        output_options_from_args(parser.parse_args(["--name-pattern", "<artist>"]))
