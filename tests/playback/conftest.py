"""A real (null) sound card for the whole session: a private PulseAudio null sink."""

from __future__ import annotations

import pytest

from tests.playback.pulse_sink import NullSink, use_sink


@pytest.fixture(scope="session")
def null_sink():
    """A running null sink that PortAudio's default device plays into."""
    why = NullSink.available()
    if why:
        pytest.fail(f"playback tests need a PulseAudio null sink: {why}")
    sink = NullSink()
    sink.start()
    with use_sink(sink):
        yield sink
    sink.cleanup()
