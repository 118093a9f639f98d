"""The lasso region (core.edit_types / core.edit_lasso) and lasso edits on the real demo song.

Kept apart from test_mask_edits.py (at its size limit); its helpers are reused.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from stemsplit.core.editing.editor import Edit, MaskEditor, Region
from stemsplit.core.editing.lasso import MAX_VERTICES
from tests.conftest import db
from tests.core.editing.test_editor import A, V, assert_sums_to_mix, energy

# An L: the corner square (1-2 s x 1-2 kHz) is cut out of the box 1-4 s x 1-6 kHz.
L_SHAPE = [(1.0, 1000.0), (4.0, 1000.0), (4.0, 2000.0), (2.0, 2000.0), (2.0, 6000.0),
           (1.0, 6000.0)]
HOP_S, BIN_HZ = 1024 / 44100, 44100 / 4096


def grid(seconds: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """The editor's grid of a 44.1 kHz song: frame centres (s), bin centres (Hz)."""
    return np.arange(0, seconds, HOP_S), np.arange(2049) * BIN_HZ


def inside_l(t: np.ndarray, f: np.ndarray) -> np.ndarray:
    tt, ff = t[:, None], f[None]
    box = (tt >= 1) & (tt < 4) & (ff >= 1000) & (ff < 6000)
    notch = (tt >= 2) & (ff >= 2000)
    return box & ~notch


@pytest.mark.parametrize("log_freq", [False, True], ids=["linear", "log"])
def test_lasso_weights_fill_a_triangle_and_a_concave_outline(log_freq):
    t, f = grid()
    tri = Region.lasso([(1.0, 1000.0), (3.0, 1000.0), (1.0, 5000.0)], feather=0.0,
                       log_freq=log_freq)
    assert (tri.t0, tri.t1, tri.f0, tri.f1) == (1.0, 3.0, 1000.0, 5000.0)
    w = tri.weights(t, f)
    assert w.dtype == np.float32 and w.shape == (t.size, f.size)
    assert set(np.unique(w)) <= {0.0, 1.0}
    at = np.searchsorted
    assert w[at(t, 1.2), at(f, 1500)] == 1 and w[at(t, 2.8), at(f, 4500)] == 0
    w = Region.lasso(L_SHAPE, feather=0.0, log_freq=log_freq).weights(t, f)
    want = inside_l(t, f)
    # Exactly the inside, but for grid points on the outline itself (either way).
    on_edge = np.isin(t, [1.0, 2.0, 4.0])[:, None] | np.isin(f, [1000.0, 2000.0, 6000.0])[None]
    assert np.array_equal(w.astype(bool) | on_edge, want | on_edge)
    assert w[at(t, 3.0), at(f, 4000)] == 0      # the cut-out corner stays out
    assert w[at(t, 1.5), at(f, 4000)] == 1 and w[at(t, 3.0), at(f, 1500)] == 1


@pytest.mark.parametrize("log_freq", [False, True], ids=["linear", "log"])
def test_lasso_feather_falls_to_zero_at_the_outline_and_never_spills(log_freq):
    t, f = grid()
    want = inside_l(t, f)
    hard = Region.lasso(L_SHAPE, feather=0.0, log_freq=log_freq).weights(t, f)
    soft = Region.lasso(L_SHAPE, feather=0.3, log_freq=log_freq).weights(t, f)
    assert soft[~want & ~hard.astype(bool)].max() == 0      # nothing outside the outline
    assert np.all(soft <= hard)
    at = np.searchsorted
    assert soft[at(t, 3.0), at(f, 1400)] == 1                 # deep in the L's foot
    row = soft[:, at(f, 4000)]                                # across its leg in time
    inner = row[at(t, 1.0): at(t, 2.0)]
    assert inner[0] < 0.2 and inner[-1] < 0.2 and inner.max() == 1
    peak = int(np.argmax(inner))
    assert np.all(np.diff(inner[: peak + 1]) >= 0)          # rises smoothly from the edge
    assert 0 < soft[at(t, 3.95), at(f, 1500)] < 1
    assert 0 < soft[at(t, 1.5), at(f, 5900)] < 1              # near the top: < 1, not 0
    # The feather is measured in the view's units: octaves on the log view, so the
    # taper below the top edge (6 kHz) is wider in Hz than the one above the bottom.
    col = soft[at(t, 1.5)]
    ramp = (col > 0) & (col < 1)
    below, above = np.ptp(f[ramp & (f < 1800)]), np.ptp(f[ramp & (f > 2500)])
    assert below > 100 and (above > 2 * below) == log_freq


def test_a_thin_diagonal_lasso_keeps_full_weight_along_its_middle():
    """The feather follows the inside's width, not the long box of a sliding note."""
    t, f = grid(4.0)
    glide = [(1.0, 500 * 2**-0.1), (3.0, 2000 * 2**-0.1), (3.0, 2000 * 2**0.1),
             (1.0, 500 * 2**0.1)]                       # 0.2 octave thick, rising an octave/s
    w = Region.lasso(glide, feather=0.3, log_freq=True).weights(t, f)
    for sec in (1.5, 2.0, 2.5):
        assert w[np.searchsorted(t, sec), np.searchsorted(f, 500 * 2 ** (sec - 1))] == 1
    assert 0 < w[np.searchsorted(t, 2.0), np.searchsorted(f, 1000 * 2**0.09)] < 1


def test_lasso_past_the_song_end_keeps_its_weight_up_to_the_end():
    t, f = grid(3.0)
    w = Region.lasso([(1.0, 500.0), (5.0, 500.0), (5.0, 4000.0), (1.0, 4000.0)],
                     feather=0.4).weights(t, f)
    k = np.searchsorted(f, 2200)
    assert w[-1, k] == 1 and w[np.searchsorted(t, 1.02), k] < 0.1   # tapers at its edge only


def test_a_long_mouse_path_is_thinned_and_still_fills_the_outline():
    """A 30 s x full-band lasso from 20,000 mouse points (its speed: benchmarks/)."""
    t, f = grid(40.0)
    ring = [(16 + 15 * np.cos(a), 11000 + 10990 * np.sin(a))
            for a in np.linspace(0, 2 * np.pi, 20_000)]          # a long mouse path
    for log_freq in (False, True):
        region = Region.lasso(ring, feather=0.3, log_freq=log_freq)
        assert 100 < len(region.outline) <= MAX_VERTICES
        w = region.weights(t, f)
        assert w.max() == 1 and w[np.searchsorted(t, 16), 1024] == 1
        assert w[np.searchsorted(t, 0.5), 1024] == 0 and w[np.searchsorted(t, 35), 1024] == 0


def test_lasso_json_round_trip_and_old_files():
    edits = [Edit(Region.lasso(L_SHAPE, feather=0.25, log_freq=True), "assign", V),
             Edit(Region.lasso([(0.5, -20.0), (1.5, 300.0), (0.7, 900.5)]), "scale", A, 1.7)]
    for e in edits:
        d = json.loads(json.dumps(e.to_json()))
        assert Edit.from_json(d) == e
        assert Edit.from_json(d).region.weights(*grid(2.0)).tobytes() == \
            e.region.weights(*grid(2.0)).tobytes()
    old = {"t0": 1.0, "t1": 2.0, "f0": 100.0, "f1": 900.0, "feather": 0.1}  # no lasso keys
    assert Region.from_json(old) == Region.rect(1, 2, 100, 900, 0.1)
    assert "outline" not in Region.rect(1, 2, 100, 900).to_json()


def test_bad_lassos_are_refused():
    for points in ([(1, 100), (2, 200)], [(1, 100), (2, 200), (1, 100), (2, 200.0)],
                   [(1, 100), (2, 200), (3, float("nan"))], [(1, 100), (2, 200), (1.5, -5)],
                   []):
        with pytest.raises(ValueError):
            Region.lasso(points, log_freq=True)
    with pytest.raises(ValueError):
        Region.lasso(L_SHAPE, feather=1.5)
    with pytest.raises(ValueError):
        Region.from_json({"t0": 1, "t1": 2, "f0": 100, "f1": 900, "outline": [[1, 100]]})
    with pytest.raises(ValueError):
        Region(1, 2, 100, 900, strokes=((1.5, 500),), radius_s=0.1, radius_hz=50,
               outline=tuple(L_SHAPE))
    # A closing point equal to the first, and repeats, are dropped.
    again = Region.lasso([*L_SHAPE, L_SHAPE[-1], L_SHAPE[0]])
    assert again.outline == Region.lasso(L_SHAPE).outline == tuple(L_SHAPE)


def test_lasso_assign_moves_the_inside_only_and_sums_to_the_mix(demo_audio, demo_stems):
    mix, base = demo_audio.samples, demo_stems
    ed = MaskEditor(mix, base)
    g = ed.grid
    outline = [(2.0, 1000.0), (5.0, 1000.0), (5.0, 2000.0), (3.0, 2000.0), (3.0, 6000.0),
               (2.0, 6000.0)]
    a, b = ed.apply(Edit(Region.lasso(outline, feather=0.0, log_freq=True), "assign", V))
    sr = base.sample_rate
    assert 2.0 * sr - g.n_fft // 2 <= a and b <= 5.0 * sr + g.n_fft // 2
    out = ed.stems().stems
    for box in ((2.2, 4.8, 1200, 1800), (2.2, 2.8, 2500, 5500)):   # the L's foot and leg
        assert db(energy(out[A], g, *box) / energy(base.stems[A], g, *box)) < -40
    notch = (3.4, 4.8, 2600, 5500)                                 # the cut-out corner
    assert abs(db(energy(out[A], g, *notch) / energy(base.stems[A], g, *notch))) < 0.05
    assert_sums_to_mix(ed)
    ed.apply(Edit(Region.lasso(outline, feather=0.6), "scale", V, 0.3))
    assert_sums_to_mix(ed)
