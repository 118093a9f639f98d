"""The MUSDB18 excerpt that ships in the stempeg wheel, decoded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def musdb_path() -> Path:
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
