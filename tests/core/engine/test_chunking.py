import numpy as np
import pytest

from stemsplit.core.engine.chunking import crossfade_weights, plan_chunks


@pytest.mark.parametrize("n", [1, 1000, 4096, 10_000, 123_457])
def test_weights_cover_every_sample_exactly_once(n):
    chunks = plan_chunks(n, 4096, 1024)
    total = np.zeros(chunks[-1].start + chunks[-1].length)
    for c in chunks:
        total[c.start: c.start + c.length] += crossfade_weights(c)
    np.testing.assert_allclose(total[:n], 1.0, atol=1e-6)
    assert chunks[0].start == 0 and chunks[-1].start + chunks[-1].length >= n
    assert chunks[0].fade_in == 0 and chunks[-1].fade_out == 0


def test_short_signal_is_one_chunk():
    assert len(plan_chunks(10, 4096, 1024)) == 1


def test_bad_overlap_rejected():
    with pytest.raises(ValueError):
        plan_chunks(100, 10, 10)
