"""Oracle masks from the references: far above the model, and summing to the mix."""

from __future__ import annotations

import numpy as np
import pytest

from stemsplit.core.evaluation.metrics import global_sdr
from stemsplit.core.evaluation.oracle import ORACLES, oracle_separate


@pytest.mark.parametrize("method", ORACLES)
def test_oracles_score_far_above_the_model_and_sum_to_the_mix(musdb_short, separator, method):
    refs = {s: musdb_short.references[s] for s in ("vocals", "accompaniment")}
    est = oracle_separate(musdb_short.mixture, refs, method)
    assert list(est) == ["vocals", "accompaniment"]
    assert np.abs(est["vocals"] + est["accompaniment"] - musdb_short.mixture).max() < 1e-6
    model = separator.separate(musdb_short.mixture, musdb_short.sample_rate)
    # The built-in model reaches 4-5 dB (vocals) and 11-13 dB (accompaniment) here.
    for stem, margin in (("vocals", 3.0), ("accompaniment", 2.0)):
        ideal = global_sdr(refs[stem], est[stem])
        ours = global_sdr(refs[stem], model.stems[stem])
        assert ideal > ours + margin, (stem, ideal, ours)


def test_binary_masks_give_each_bin_to_one_source(musdb_short):
    import torch

    from stemsplit.core.engine import dsp

    names = ("drums", "bass", "other", "vocals")
    refs = {s: musdb_short.references[s] for s in names}
    est = oracle_separate(musdb_short.mixture, refs, "ibm")
    w = dsp.hann(4096)
    spec = {s: dsp.stft(torch.from_numpy(est[s][:, 44100: 3 * 44100]), 4096, 1024, w).abs()
            for s in names[:-1]}
    mix = dsp.stft(torch.from_numpy(musdb_short.mixture[:, 44100: 3 * 44100]), 4096, 1024,
                   w).abs()
    # Away from the chunk's edges a masked bin is the mixture's or (nearly) nothing.
    share = torch.stack([spec[s] for s in spec])[..., 4:-4] / (mix[..., 4:-4] + 1e-6)
    loud = mix[..., 4:-4] > 1.0
    near = ((share < 0.2) | (share > 0.8))[:, loud]
    assert near.float().mean() > 0.8
    with pytest.raises(ValueError, match="unknown oracle"):
        oracle_separate(musdb_short.mixture, refs, "magic")
