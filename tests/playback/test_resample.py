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
