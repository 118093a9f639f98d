"""The reader refuses what is not a regular audio file, with its own reason (issue 22).

Items 8 and 13: FIFOs and devices, random bytes named like audio, libmpg123's
noise, truncated files, a header that claims more than memory holds, a name too
long for the file system, paths named as given.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest
import soundfile as sf

from stemsplit.core.audio.read import load_audio, probe, probe_duration
from stemsplit.core.errors import AudioLoadError
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def clip(demo_audio) -> np.ndarray:
    return demo_audio.samples[:, 44100 * 2: 44100 * 4]  # 2 s of stereo music


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path):
    fifo = tmp_path / "song.wav"
    os.mkfifo(fifo)
    results = []

    def read() -> None:
        for reader in (probe, load_audio):
            try:
                reader(fifo)
            except AudioLoadError as exc:
                results.append(str(exc))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # the reader blocks in open(): let it go, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("reading a FIFO blocked")
    assert len(results) == 2
    assert all("named pipe (FIFO)" in r and "regular files only" in r for r in results)
    assert probe_duration(fifo) is None


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_a_device_is_a_device_not_empty():
    for reader in (probe, load_audio):
        with pytest.raises(AudioLoadError, match="/dev/zero: is a device, not an audio file"):
            reader("/dev/zero")


@pytest.mark.parametrize("suffix", [".mp3", ".flac", ".wav"])
def test_random_bytes_are_not_audio_and_libmpg123_stays_quiet(tmp_path, suffix, capfd):
    path = tmp_path / f"noise{suffix}"
    noise = np.random.default_rng(1).integers(0, 256, 100_000, np.uint8)
    noise[noise == 0xFF] = 0  # no MPEG sync word by chance: this is noise, not a damaged MP3
    path.write_bytes(noise.tobytes())
    for reader in (probe, load_audio):
        with pytest.raises(AudioLoadError) as info:
            reader(path)
        assert str(info.value) == f"{path}: is not an audio file stemsplit can read " \
                                  "(or it is damaged)"
    err = capfd.readouterr().err
    assert "libmpg123" not in err and "MPEG" not in err


def test_a_truncated_wav_is_read_with_a_warning(tmp_path, clip):
    path = tmp_path / "cut.wav"
    sf.write(path, clip.T, 44100, subtype="PCM_16")
    os.truncate(path, 44 + (os.path.getsize(path) - 44) // 2)  # half the data, header intact
    audio = load_audio(path)
    assert audio.frames == pytest.approx(44100, abs=2)
    assert audio.notes == (f"{path}: holds only 1.0 s of the 2.0 s its header promises (the "
                           "file is truncated); what is there is used",)
    whole = tmp_path / "whole.wav"
    sf.write(whole, clip.T, 44100, subtype="PCM_16")
    assert load_audio(whole).notes == ()


def test_a_truncated_flac_is_read_with_a_warning(tmp_path, clip):
    path = tmp_path / "cut.flac"
    sf.write(path, clip.T, 44100, subtype="PCM_16")
    os.truncate(path, os.path.getsize(path) // 2)
    audio = load_audio(path)
    assert 0 < audio.frames < clip.shape[1]
    assert len(audio.notes) == 1 and "of the 2.0 s its header promises" in audio.notes[0]


def test_a_name_too_long_gets_a_sentence_not_errno_36(tmp_path):
    path = tmp_path / ("y" * 300 + ".wav")
    with pytest.raises(AudioLoadError, match="longer than the file system allows"):
        load_audio(path)


def test_errors_name_the_path_as_given(tmp_path):
    (tmp_path / "sub").mkdir()
    given = tmp_path / "sub" / "missing.wav"
    with pytest.raises(AudioLoadError) as info:
        load_audio(given)
    assert str(info.value) == f"{given}: file not found"


SPARSE = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from stemsplit.core.audio.read import load_audio
from stemsplit.core.errors import AudioLoadError
try:
    load_audio(sys.argv[1])
except AudioLoadError as exc:
    print("REFUSED", exc)
"""


@pytest.mark.slow
def test_a_sparse_4gb_wav_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.wav"
    data = 0xFFFFFF00  # bytes of 16-bit stereo: 1.07e9 frames, 8.6 GB as float32
    header = (b"RIFF" + struct.pack("<I", data + 36) + b"WAVEfmt "
              + struct.pack("<IHHIIHH", 16, 1, 2, 44100, 44100 * 4, 4, 16)
              + b"data" + struct.pack("<I", data))
    with open(path, "wb") as fh:
        fh.write(header)
        fh.truncate(len(header) + data)  # sparse: takes no disk space
    proc = subprocess.run([sys.executable, "-c", SPARSE, str(path)], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert "MemoryError" not in proc.stderr and proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"REFUSED {path}: decoding it needs 8.6 GB of memory and ")
