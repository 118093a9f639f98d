import numpy as np
import pytest

from stemsplit.core.api import separate
from stemsplit.core.errors import AudioLoadError, StemsplitError


def test_facade_on_a_path_and_an_array(demo_path, demo_audio):
    from_file = separate(demo_path, device="cpu")
    from_array = separate(demo_audio.samples, 44100, device="cpu")
    assert from_file.names == ["vocals", "accompaniment"]
    np.testing.assert_array_equal(from_file.stems["vocals"], from_array.stems["vocals"])
    np.testing.assert_allclose(from_file.mix(), demo_audio.samples, atol=1e-5)


def test_facade_errors(tmp_path):
    with pytest.raises(StemsplitError, match="sample_rate"):
        separate(np.zeros((2, 100), np.float32))
    with pytest.raises(AudioLoadError):
        separate(tmp_path / "missing.wav")
