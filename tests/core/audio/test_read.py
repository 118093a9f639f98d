"""Decoding every format a musician brings, and refusing bad files clearly."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from stemsplit.core.audio.read import downmix_to_stereo, load_audio
from stemsplit.core.errors import AudioLoadError


@pytest.fixture(scope="module")
def clip(demo_audio):
    return demo_audio.samples[:, :88200]  # 2 s of the real demo song


@pytest.mark.parametrize("ext, fmt, subtype", [
    ("wav", "WAV", "PCM_16"), ("wav", "WAV", "FLOAT"), ("aiff", "AIFF", "PCM_24"),
    ("flac", "FLAC", "PCM_24"), ("ogg", "OGG", "VORBIS"), ("opus", "OGG", "OPUS"),
    ("mp3", "MP3", "MPEG_LAYER_III"),
])
def test_soundfile_formats(tmp_path, clip, ext, fmt, subtype):
    rate = 48000 if subtype == "OPUS" else 44100
    path = tmp_path / f"song.{ext}"
    sf.write(path, clip.T, rate, format=fmt, subtype=subtype)
    audio = load_audio(path)
    assert audio.channels == 2 and audio.sample_rate == rate
    assert abs(audio.frames - clip.shape[1]) < 4096  # lossy codecs pad a little
    n = min(audio.frames, clip.shape[1])
    if subtype in ("PCM_16", "FLOAT", "PCM_24"):
        np.testing.assert_allclose(audio.samples[:, :n], clip[:, :n], atol=1e-4)


def _encode_with_pyav(path: Path, samples: np.ndarray, rate: int, codec: str) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "stereo"
        frame_size = 1024
        fmt = "fltp" if codec == "aac" else "s16p"
        for i in range(0, samples.shape[1], frame_size):
            block = samples[:, i: i + frame_size]
            data = block if fmt == "fltp" else (block * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt,
                                               layout="stereo")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.mark.parametrize("codec", ["aac", "alac"])
def test_m4a_through_bundled_ffmpeg(tmp_path, clip, codec):
    path = tmp_path / f"song-{codec}.m4a"
    _encode_with_pyav(path, clip, 44100, codec)
    audio = load_audio(path)
    assert audio.channels == 2 and audio.sample_rate == 44100
    assert abs(audio.frames - clip.shape[1]) < 4096
    # real content, not silence: correlates with the original after the codec
    n = min(audio.frames, clip.shape[1]) - 4096
    best = max(np.corrcoef(audio.samples[0, k: k + n], clip[0, :n])[0, 1] for k in (0, 1024, 2048))
    assert best > 0.9


def test_mono_and_8k(tmp_path, clip):
    path = tmp_path / "mono8k.wav"
    sf.write(path, clip[0][::5], 8820)
    audio = load_audio(path)
    assert audio.channels == 1 and audio.sample_rate == 8820


def test_six_channels_refused_or_downmixed(tmp_path, clip):
    path = tmp_path / "surround.wav"
    six = np.vstack([clip, clip * 0.5, clip * 0.25])
    sf.write(path, six.T, 44100)
    with pytest.raises(AudioLoadError, match="6 channels"):
        load_audio(path)
    audio = load_audio(path, downmix=True)
    assert audio.channels == 2 and audio.original_channels == 6
    assert np.abs(audio.samples).max() <= 1.0


def test_downmix_never_clips():
    full = np.ones((6, 100), np.float32)
    assert np.abs(downmix_to_stereo(full)).max() <= 1.0 + 1e-6


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b"this is not audio at all" * 50, "is not an audio file"),
])
def test_garbage_files(tmp_path, content, reason):
    path = tmp_path / "broken.mp3"
    path.write_bytes(content)
    with pytest.raises(AudioLoadError, match=reason) as info:
        load_audio(path)
    assert "broken.mp3" in str(info.value)


def test_truncated_wav_still_loads_what_is_there_or_refuses(tmp_path, clip):
    path = tmp_path / "cut.wav"
    sf.write(path, clip.T, 44100, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[:44])  # header only, no samples
    with pytest.raises(AudioLoadError):
        load_audio(path)


def test_missing_and_folder(tmp_path):
    with pytest.raises(AudioLoadError, match="not found"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioLoadError, match="folder"):
        load_audio(tmp_path)


def test_source_file_is_never_modified(tmp_path, clip):
    path = tmp_path / "song.flac"
    sf.write(path, clip.T, 44100)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    load_audio(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
