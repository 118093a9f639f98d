"""Shared fixtures: settings redirected to a temp dir, real audio from the packages."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # so tests can import benchmarks.peer

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")


@pytest.fixture(scope="session", autouse=True)
def _shared_weights_cache(tmp_path_factory):
    """One safetensors copy of the built-in weights for the whole run (~80 MB, not per test)."""
    from stemsplit.core.models.weights_file import BUILTIN_CACHE_ENV

    os.environ[BUILTIN_CACHE_ENV] = str(tmp_path_factory.mktemp("weights-cache"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own settings and cache folders."""
    monkeypatch.setenv("STEMSPLIT_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def demo_path() -> Path:
    from stemsplit.core.models.spleeter.weights import demo_song_path

    return demo_song_path()


@pytest.fixture(scope="session")
def demo_audio(demo_path):
    """The 10.9 s stereo demo song as (2, N) float32 at 44.1 kHz."""
    from stemsplit.core.audio.read import load_audio

    return load_audio(demo_path)


@pytest.fixture(scope="session")
def separator():
    """One CPU Separator for the whole session (loading weights takes ~2 s)."""
    from stemsplit.core.models.registry import load_separator

    return load_separator(device="cpu")


@pytest.fixture(scope="session")
def demo_stems(separator, demo_audio):
    return separator.separate(demo_audio.samples, demo_audio.sample_rate)


@pytest.fixture(scope="session")
def musdb_path() -> Path:
    """The MUSDB18 excerpt (7 s, .stem.mp4) that ships in the stempeg wheel."""
    import stempeg

    return Path(stempeg.example_stem_path())


@pytest.fixture(scope="session")
def musdb_track(musdb_path):
    """The 7 s excerpt (drums, bass, other, vocals, accompaniment) as a TrackAudio."""
    from stemsplit.core.evaluation.datasets import find_tracks

    return find_tracks(musdb_path)[0].load()


@pytest.fixture(scope="session")
def musdb_short(musdb_track):
    """Its first 4 s: enough windows for BSS Eval, short enough for CI."""
    return musdb_track.excerpt(0.0, 4.0)


def db(x: float) -> float:
    return float(10 * np.log10(max(x, 1e-30)))
