"""Incremental resampling for devices that refuse the song's rate."""

from __future__ import annotations

import numpy as np
import soxr

from stemsplit.playback.resample import Resampled


def test_growing_input_resamples_like_one_pass():
    sr_in, sr_out = 48000, 44100
    t = np.arange(sr_in) / sr_in
    src = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)]).astype(np.float32)
    r = Resampled([src], sr_in, sr_out)
    assert r.length == sr_out and r.available == 0
    got = [r.feed_to(n) for n in (7000, 7000, 20000, 33333, sr_in)]
    assert got == sorted(got) and got[-1] == r.length  # grows, then is complete
    assert 0 < got[0] < r.to_out(7000)  # only finished input is counted
    whole = soxr.resample(src.T, sr_in, sr_out).T
    out = r.outputs[0]
    m = min(whole.shape[1], out.shape[1]) - 100
    np.testing.assert_allclose(out[:, 100:m], whole[:, 100:m], atol=2e-3)
    assert r.to_in(r.to_out(12345)) == 12345


def _edited_copy_check(sr_in: int, sr_out: int, spans) -> None:
    from stemsplit.playback.resample import MARGIN

    rng = np.random.default_rng(1)
    src = (0.1 * rng.standard_normal((2, 3 * sr_in))).astype(np.float32)
    r = Resampled([src], sr_in, sr_out)
    r.feed_to(src.shape[1])
    for a, b in spans:
        src[:, a:b] *= -0.5  # an edit, in place
        before = r.converted
        r.refresh(a, b)
        # Only the span and its margins were converted again, not the song.
        assert r.converted - before <= (b - a) + 2 * MARGIN + MARGIN // 4
        fresh = Resampled([src], sr_in, sr_out)
        fresh.feed_to(src.shape[1])
        np.testing.assert_allclose(r.outputs[0], fresh.outputs[0], rtol=0, atol=1e-6)


def test_an_edited_span_is_refreshed_like_a_full_rebuild():
    # middle, the very start, the very end, and one sample
    spans = [(50_000, 60_000), (0, 3000), (3 * 44100 - 2500, 3 * 44100), (70_001, 70_002)]
    _edited_copy_check(44100, 48000, spans)
    _edited_copy_check(48000, 44100, [(a * 48 // 44, b * 48 // 44) for a, b in spans[:2]])
    _edited_copy_check(441000, 44100, [(100_000, 200_000), (0, 10)])
