"""The shortcuts that make an edit cheaper (issue 22, item 17) give the same floats as
the general arithmetic: two stems' one-spectrum deltas, and the envelope of a span
away from the song's ends. Live editing and replay both go through them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stemsplit.core.editing import spectra
from stemsplit.core.editing.editor import Edit, Region
from stemsplit.core.editing.spectra import EditGrid, edit_deltas, overlap_add, stems_read


def band(rng, shape):
    re, im = rng.standard_normal(shape), rng.standard_normal(shape)
    spec = torch.from_numpy((re + 1j * im).astype(np.complex64))
    spec[..., :3] = 0  # silent bins: the even-share branch
    return spec


@pytest.mark.parametrize("op, amount", [("assign", 0.7), ("assign", 1.0), ("remove", 0.4),
                                        ("scale", 0.3), ("scale", 0.0)])
@pytest.mark.parametrize("k", [0, 1])
def test_two_stems_read_one_spectrum_and_give_the_general_delta(op, amount, k):
    rng = np.random.default_rng(4)
    spec = band(rng, (2, 2, 9, 37))                        # (S, C, F, B)
    weights = rng.uniform(0, 1, (9, 37)).astype(np.float32)
    edit = Edit(Region.rect(0, 1, 0, 1), op, "x", amount)
    reads = stems_read(edit, k, 2)
    assert len(reads) == 1
    fast = spectra._first_delta(spec[reads[0]], weights, edit, k)
    general = edit_deltas(spec, weights, edit, k)[0]
    assert torch.equal(fast, general)


def test_scaling_up_and_more_stems_read_every_spectrum():
    up = Edit(Region.rect(0, 1, 0, 1), "scale", "x", 2.0)
    assert stems_read(up, 0, 2) == [0, 1]
    for op in ("assign", "remove"):
        assert stems_read(Edit(Region.rect(0, 1, 0, 1), op, "x"), 1, 4) == [0, 1, 2, 3]


@pytest.mark.parametrize("rate", [44100, 22050, 8000])
def test_the_steady_envelope_divides_as_the_whole_one_does(rate):
    grid = EditGrid.for_song(rate, rate * 30)
    rng = np.random.default_rng(2)
    spec = band(rng, (1, 2, 12, grid.bins))
    reach = grid.n_fft // grid.hop - 1
    for ja in (reach, 40, grid.frames - 12 - reach):       # interior spans, the edges' neighbours
        fast = overlap_add(spec, grid, ja, ja + 12)
        spectra._STEADY.clear()
        # The general path: an envelope summed over the span's own frames.
        frames = torch.fft.irfft(spec, n=grid.n_fft, dim=-1) * spectra._window(grid.n_fft)
        out = spectra._ola(frames, grid.hop)
        env = spectra._ola(spectra._window(grid.n_fft).square().expand(12 + 2 * reach,
                                                                     grid.n_fft), grid.hop)
        env = env[reach * grid.hop: reach * grid.hop + out.shape[-1]]
        assert np.array_equal(fast, (out / env.clamp_min(1e-10)).numpy())
