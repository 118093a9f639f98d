"""Mask edits on the real demo song separated by the real model (core.mask_edits)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from stemsplit.core.editing.editor import Edit, MaskEditor, Region
from stemsplit.core.engine import dsp
from stemsplit.core.stems import StemSet
from tests.conftest import db

V, A = "vocals", "accompaniment"


@pytest.fixture(scope="module")
def song(demo_audio, demo_stems):
    """(mix, base stems): the 10.9 s demo song and its real 2-stem separation."""
    return demo_audio.samples, demo_stems


def fresh(song, **kw) -> MaskEditor:
    mix, stems = song
    return MaskEditor(mix, stems, **kw)


def spectrum(x: np.ndarray, grid, t0, t1, f0, f1) -> np.ndarray:
    """|STFT| of ``x`` (C, n) in the box [t0, t1] s x [f0, f1] Hz (the editor's grid)."""
    spec = dsp.stft(torch.from_numpy(np.ascontiguousarray(x)), grid.n_fft, grid.hop,
                    dsp.hann(grid.n_fft)).abs()
    ja, jb = round(t0 / grid.hop_seconds), round(t1 / grid.hop_seconds) + 1
    ka, kb = round(f0 / grid.bin_hz), round(f1 / grid.bin_hz) + 1
    return spec[:, ka:kb, ja:jb].numpy().astype(np.float64)


def energy(x: np.ndarray, grid, t0, t1, f0, f1) -> float:
    return float(np.square(spectrum(x, grid, t0, t1, f0, f1)).sum())


def assert_sums_to_mix(editor: MaskEditor) -> None:
    total = np.sum(np.stack(list(editor.stems().stems.values())), axis=0)
    assert np.abs(total - editor.mix).max() <= 1e-6


def assert_same(stems: dict, other: dict) -> None:
    for name in stems:
        assert np.array_equal(stems[name], other[name]), name


def snapshot(editor: MaskEditor) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in editor.stems().stems.items()}


def test_assign_rectangle_moves_everything_inside_and_nothing_outside(song):
    mix, base = song
    ed = fresh(song)
    g = ed.grid
    a, b = ed.apply(Edit(Region.rect(2.0, 4.0, 3000, 8000, feather=0.2), "assign", V))
    sr = base.sample_rate
    # The change stays within the region plus half a window on each side.
    assert 2.0 * sr - g.n_fft // 2 <= a < 2.2 * sr and 3.8 * sr < b <= 4.0 * sr + g.n_fft // 2
    out = ed.stems().stems
    for name in (V, A):
        assert np.array_equal(out[name][:, :a], base.stems[name][:, :a])
        assert np.array_equal(out[name][:, b:], base.stems[name][:, b:])
    inner = (2.3, 3.7, 3600, 7400)   # inside the feathered edges
    acc_before, acc_after = energy(base.stems[A], g, *inner), energy(out[A], g, *inner)
    assert db(acc_after / acc_before) < -40, "accompaniment left inside the region"
    assert abs(db(energy(out[V], g, *inner) / energy(mix, g, *inner))) < 0.1
    # Below the band, in the same frames, nothing moved.
    low = (2.3, 3.7, 100, 2000)
    assert abs(db(energy(out[A], g, *low) / energy(base.stems[A], g, *low))) < 0.01
    assert_sums_to_mix(ed)
    assert ed.can_undo and ed.history == [ed.history[0]] and ed.undo_label == "Assign to vocals"


def test_remove_from_vocals_hands_it_to_the_accompaniment(song):
    mix, base = song
    ed = fresh(song)
    ed.apply(Edit(Region.rect(5.0, 7.0, 200, 4000, feather=0.0), "remove", V, 1.0))
    out = ed.stems().stems
    box = (5.2, 6.8, 300, 3800)
    assert db(energy(out[V], ed.grid, *box) / energy(base.stems[V], ed.grid, *box)) < -40
    assert abs(db(energy(out[A], ed.grid, *box) / energy(mix, ed.grid, *box))) < 0.1
    assert_sums_to_mix(ed)


def test_remove_shares_by_the_others_shares_or_evenly_where_silent(song):
    mix, base = song
    acc, voc = base.stems[A], base.stems[V]
    # Three stems from the real ones: the accompaniment split 7:3 between two stems.
    other = (acc * 0.7).astype(np.float32)
    stems = StemSet(base.sample_rate, {V: voc, "other": other, "bass": mix - voc - other})
    ed = MaskEditor(mix, stems)
    ed.apply(Edit(Region.rect(1.0, 3.0, 0, 20000), "remove", V, 0.6))
    d_other = ed.stems().stems["other"] - other
    d_bass = ed.stems().stems["bass"] - stems.stems["bass"]
    assert np.abs(d_other).max() > 1e-3
    assert np.allclose(d_other * 0.3, d_bass * 0.7, atol=2e-6)
    assert_sums_to_mix(ed)
    # A separation that gave everything to vocals: the others have no share to go by.
    zeros = np.zeros_like(mix)
    ed = MaskEditor(mix, StemSet(base.sample_rate, {V: mix, "other": zeros, "bass": zeros}))
    ed.apply(Edit(Region.rect(1.0, 3.0, 0, 20000), "remove", V, 1.0))
    out = ed.stems().stems
    assert np.abs(out["other"]).max() > 1e-2
    assert np.allclose(out["other"], out["bass"], atol=2e-6)
    assert_sums_to_mix(ed)


def test_scale(song):
    mix, base = song
    box, region = (5.3, 6.7, 500, 3000), Region.rect(5.0, 7.0, 300, 3500, feather=0.1)
    half = fresh(song)
    half.apply(Edit(region, "scale", V, 0.5))
    g = half.grid
    # Spleeter's stems are the mix times a real mask, so half the share is -6 dB.
    change = db(energy(half.stems().stems[V], g, *box) / energy(base.stems[V], g, *box))
    assert -6.6 < change < -5.4
    assert_sums_to_mix(half)
    # Scale by 0 is remove at full strength, bit for bit.
    zero, removed = fresh(song), fresh(song)
    zero.apply(Edit(region, "scale", V, 0.0))
    removed.apply(Edit(region, "remove", V, 1.0))
    assert_same(zero.stems().stems, removed.stems().stems)
    # Scaling up takes from the accompaniment: |S_v| x3 per bin, at most all of |X|.
    up = fresh(song)
    up.apply(Edit(region, "scale", V, 3.0))
    out = up.stems().stems
    expected = np.minimum(3 * spectrum(base.stems[V], g, *box), spectrum(mix, g, *box))
    assert abs(db(energy(out[V], g, *box) / np.square(expected).sum())) < 0.3
    assert energy(out[V], g, *box) > 1.2 * energy(base.stems[V], g, *box)
    assert energy(out[A], g, *box) < 0.8 * energy(base.stems[A], g, *box)
    patch = up.mask_patch(*up.apply(Edit(region, "scale", V, 1e6)))
    assert patch.masks.max() <= 1.0 and patch.masks.min() >= 0.0
    assert_sums_to_mix(up)
    # Factor 1 and strength 0 change nothing and record nothing.
    still = fresh(song)
    assert still.apply(Edit(region, "scale", V, 1.0)) == (0, 0)
    assert still.apply(Edit(region, "assign", V, 0.0)) == (0, 0)
    assert not still.can_undo and still.revision == 0


def test_brush_on_a_log_frequency_radius(song):
    _, base = song
    brush = Region.brush([(5.0, 1000.0), (5.5, 1000.0), (6.0, 1000.0)], 0.1,
                         radius_oct=0.5, feather=0.3)
    assert (brush.t0, brush.t1) == pytest.approx((4.9, 6.1))
    assert (brush.f0, brush.f1) == pytest.approx((1000 / 2**0.5, 1000 * 2**0.5))
    # Round in octaves: as far above 1 kHz as below, in octaves, the same weight.
    octs = np.array([-0.6, -0.4, -0.2, -0.1, 0.0, 0.1, 0.2, 0.4, 0.6])
    w = brush.weights(np.array([5.5]), 1000 * 2.0 ** octs)[0]
    assert np.allclose(w, w[::-1], atol=1e-6)
    assert w[4] == w[2] == 1.0 and w[0] == 0.0 and 0 < w[1] < 1   # flat to 0.35 oct
    lin = Region.brush([(5.5, 1000.0)], 0.1, radius_hz=300, feather=0.0)
    w = lin.weights(np.array([5.5]), np.array([650, 750, 1000, 1250, 1350.0]))[0]
    assert list(w) == [0, 1, 1, 1, 0]
    ed = fresh(song)
    a, b = ed.apply(Edit(brush, "assign", A))
    sr = base.sample_rate
    assert 4.9 * sr - ed.grid.n_fft // 2 <= a and b <= 6.1 * sr + ed.grid.n_fft // 2
    out = ed.stems().stems
    box = (5.1, 5.9, 900, 1100)
    assert db(energy(out[V], ed.grid, *box) / energy(base.stems[V], ed.grid, *box)) < -30
    far = (5.1, 5.9, 2200, 4000)  # above the brush's reach (1414 Hz)
    assert abs(db(energy(out[V], ed.grid, *far) / energy(base.stems[V], ed.grid, *far))) < 0.05
    assert_sums_to_mix(ed)


def test_feather_hard_and_fully_soft():
    t, f = np.linspace(0, 4, 401), np.linspace(0, 4000, 401)
    hard = Region.rect(1, 3, 1000, 3000, feather=0.0).weights(t, f)
    inside = (t[:, None] >= 1) & (t[:, None] <= 3) & (f[None] >= 1000) & (f[None] <= 3000)
    assert np.array_equal(hard, inside.astype(np.float32))
    soft = Region.rect(1, 3, 1000, 3000, feather=1.0).weights(t, f)
    assert soft.max() == pytest.approx(1.0) and soft[200, 200] == pytest.approx(1.0)
    row = soft[200, 100:201]   # 1000 Hz -> 2000 Hz: rises all the way to the middle
    assert row[0] == 0 and np.all(np.diff(row) > 0)
    assert soft[np.argwhere(~inside).T[0], np.argwhere(~inside).T[1]].max() == 0
    some = Region.rect(1, 3, 1000, 3000, feather=0.2).weights(t, f)
    assert some[150, 100:201].tolist().count(1.0) > 50   # flat top, feathered edges


def test_regions_are_clipped_to_the_song(song):
    mix, _ = song
    n = mix.shape[-1]
    ed = fresh(song)
    a, b = ed.apply(Edit(Region.rect(9.0, 30.0, 15000, 40000), "assign", V))
    assert b == n and a > 8.5 * 44100
    a, b = ed.apply(Edit(Region.rect(-5.0, 0.5, 0, 500), "remove", V))
    assert a == 0 and 0 < b < 0.6 * 44100
    assert_sums_to_mix(ed)
    revision = ed.revision
    for empty in (Region.rect(20, 30, 100, 1000), Region.rect(1, 2, 30000, 40000),
                  Region.rect(1, 1, 100, 1000), Region.rect(1, 2, 500, 500),
                  Region.rect(-3, -1, 100, 1000)):
        assert ed.apply(Edit(empty, "assign", V)) == (0, 0)
    assert ed.revision == revision and len(ed.history) == 2


def test_bad_input_is_refused(song):
    ed = fresh(song)
    with pytest.raises(ValueError, match="unknown stem"):
        ed.apply(Edit(Region.rect(1, 2, 100, 1000), "assign", "drums"))
    with pytest.raises(ValueError, match="unknown stem"):
        ed.clear("drums")
    with pytest.raises(ValueError):
        Edit(Region.rect(1, 2, 100, 1000), "paint", V)
    with pytest.raises(ValueError):
        Edit(Region.rect(1, 2, 100, 1000), "assign", V, 1.5)
    with pytest.raises(ValueError):
        Edit(Region.rect(1, 2, 100, 1000), "scale", V, -1)
    with pytest.raises(ValueError):
        Region.rect(1, 2, 100, float("nan"))
    with pytest.raises(ValueError):
        Region.rect(1, 2, 100, 1000, feather=1.5)
    with pytest.raises(ValueError):
        Region.brush([(1, 100)], 0.1)               # no frequency radius
    with pytest.raises(ValueError):
        Region.brush([(1, 0.0)], 0.1, radius_oct=1)  # 0 Hz has no octave
    with pytest.raises(ValueError):
        Edit.from_json({"op": "assign"})
    assert Region.rect(3, 1, 900, 100) == Region.rect(1, 3, 100, 900)


def test_json_round_trip():
    edits = [Edit(Region.rect(0.1, 2.3, 55.5, 8000.25, 0.3), "scale", "bass", 0.37),
             Edit(Region.brush([(1.0, 440.0), (1.2, 523.25)], 0.05, radius_oct=0.25,
                               feather=0.8), "remove", V, 0.5),
             Edit(Region.brush([(1.0, 440.0)], 0.05, radius_hz=80.0), "assign", V)]
    for e in edits:
        assert Edit.from_json(json.loads(json.dumps(e.to_json()))) == e


def random_edit(rng: np.random.Generator, names: list[str]) -> Edit:
    t0 = rng.uniform(-0.5, 10.5)
    t1 = t0 + rng.uniform(0.05, 3.0)
    stem = names[rng.integers(len(names))]
    op = ("assign", "remove", "scale")[rng.integers(3)]
    amount = rng.uniform(0, 3) if op == "scale" else rng.uniform(0.2, 1)
    if rng.random() < 0.5:
        f0 = rng.uniform(0, 15000)
        return Edit(Region.rect(t0, t1, f0, f0 * rng.uniform(1.1, 3) + 50,
                                rng.uniform(0, 1)), op, stem, amount)
    pts = [(t0 + i * 0.05, 200 * 2 ** rng.uniform(0, 6)) for i in range(rng.integers(1, 20))]
    return Edit(Region.brush(pts, rng.uniform(0.02, 0.3), radius_oct=rng.uniform(0.05, 1),
                             feather=rng.uniform(0, 1)), op, stem, amount)


@pytest.mark.parametrize("budget", [500 * 2**20, 2 * 2**20], ids=["kept", "replayed"])
def test_undo_redo_long_history_is_bit_exact(song, budget):
    _, base = song
    ed = fresh(song, history_bytes=budget)
    assert ed._derived           # the engine's last stem is mix minus the others
    rng = np.random.default_rng(11)
    states = [snapshot(ed)]
    for _ in range(50):
        ed.apply(random_edit(rng, base.names))
        assert_sums_to_mix(ed)
        states.append(snapshot(ed))
    assert ed.history_nbytes <= budget
    assert not np.array_equal(states[-1][V], base.stems[V])
    for i in range(50, 40, -1):      # a few steps back, each exact
        ed.undo()
        assert_same(ed.stems().stems, states[i - 1])
    while ed.can_undo:
        ed.undo()
    assert_same(ed.stems().stems, base.stems)
    assert ed.history == [] and ed.undo() is None
    while ed.can_redo:
        ed.redo()
    assert_same(ed.stems().stems, states[-1])
    assert len(ed.history) == 50 and ed.redo() is None


@pytest.mark.parametrize("budget", [500 * 2**20, 2 * 2**20], ids=["kept", "replayed"])
def test_undo_redo_with_a_last_stem_not_derived_from_the_others(song, budget):
    """Three stems whose last is not bit for bit mix minus the others: undo keeps it too."""
    mix, base = song
    voc = base.stems[V]
    other = (base.stems[A] * 0.6).astype(np.float32)
    stems = StemSet(base.sample_rate, {V: voc, "other": other, "bass": (mix - voc) - other})
    ed = MaskEditor(mix, stems, history_bytes=budget)
    assert not ed._derived       # the path under test: every stem stored per step
    rng = np.random.default_rng(3)
    for _ in range(20):
        ed.apply(random_edit(rng, stems.names))
    edited = snapshot(ed)
    while ed.can_undo:
        ed.undo()
    assert_same(ed.stems().stems, stems.stems)
    while ed.can_redo:
        ed.redo()
    assert_same(ed.stems().stems, edited)
    assert_sums_to_mix(ed)


def test_replay_gives_the_same_stems(song):
    _, base = song
    ed = fresh(song)
    rng = np.random.default_rng(5)
    for _ in range(12):
        ed.apply(random_edit(rng, base.names))
    again = fresh(song)
    again.replay(ed.history)
    assert_same(again.stems().stems, ed.stems().stems)


def test_clear_one_stem_replays_the_others_and_is_undoable(song):
    _, base = song
    v1 = Edit(Region.rect(1, 2, 200, 2000), "assign", V)
    a1 = Edit(Region.rect(1.5, 3, 1000, 5000), "assign", A)
    v2 = Edit(Region.brush([(2.5, 800), (3.0, 900)], 0.2, radius_oct=0.5), "scale", V, 2)
    ed = fresh(song)
    assert ed.clear(V) is None and ed.clear() is None
    ed.replay([v1, a1, v2])
    edited = snapshot(ed)
    only_a1 = fresh(song)
    only_a1.apply(a1)
    a, b = ed.clear(V)
    assert 0 < a < b and ed.history == [a1] and ed.undo_label == "Clear Edits of vocals"
    assert_same(ed.stems().stems, only_a1.stems().stems)
    assert_sums_to_mix(ed)
    assert ed.undo() == (a, b)
    assert_same(ed.stems().stems, edited)
    assert ed.history == [v1, a1, v2]
    ed.redo()
    assert ed.clear() is not None and ed.history == []
    assert_same(ed.stems().stems, base.stems)
    ed.undo()
    assert_same(ed.stems().stems, only_a1.stems().stems)


def test_dirty_follows_the_saved_state(song):
    ed = fresh(song)
    assert not ed.dirty
    ed.apply(Edit(Region.rect(1, 2, 200, 2000), "assign", V))
    assert ed.dirty
    ed.mark_saved()
    assert not ed.dirty
    ed.apply(Edit(Region.rect(3, 4, 200, 2000), "remove", V))
    assert ed.dirty and ed.revision == 2
    ed.undo()
    assert not ed.dirty and ed.redo_label == "Remove from vocals"
    ed.undo()
    assert ed.dirty
    ed.redo()
    ed.apply(Edit(Region.rect(5, 6, 200, 2000), "remove", V))   # a new branch
    assert ed.dirty and not ed.can_redo and ed.revision == 6


def test_mask_patch_shows_the_edit(song):
    ed = fresh(song)
    before = ed.mask_patch(0, ed.length)
    a, b = ed.apply(Edit(Region.rect(2.0, 4.0, 3000, 8000, 0.0), "assign", V))
    patch = ed.mask_patch(a, b)
    g = ed.grid
    assert patch.masks.shape[:2] == (2, g.bins) and patch.masks.dtype == np.float32
    assert (patch.hop_seconds, patch.bin_hz) == (g.hop_seconds, g.bin_hz)
    j = round(3.0 / g.hop_seconds) - patch.frame_start
    k = slice(round(4000 / g.bin_hz), round(7000 / g.bin_hz))
    assert patch.masks[0, k, j].min() > 0.99 and patch.masks[1, k, j].max() < 0.01
    low = round(1000 / g.bin_hz)   # untouched band of the same frame: as before
    assert patch.masks[:, low, j] == pytest.approx(
        before.masks[:, low, j + patch.frame_start], abs=1e-4)
    blocks = list(ed.mask_blocks(frames_per_block=100))
    assert sum(x.masks.shape[-1] for x in blocks) == g.frames
    assert np.array_equal(np.concatenate([x.masks for x in blocks], axis=-1)[
        ..., patch.frame_start: patch.frame_start + patch.masks.shape[-1]], patch.masks)


def test_edit_latency_printed(song):
    """Latency on this machine (printed with -s; benchmarks/mask_edit_speed.py for 4 min)."""
    ed = fresh(song)
    stroke = [(2 + i / 50, 1000 * 2 ** (i / 50)) for i in range(50)]
    for label, region in [("rect 1 s", Region.rect(2, 3, 500, 4000)),
                          ("rect 5 s", Region.rect(2, 7, 0, 22050)),
                          ("brush 1 s", Region.brush(stroke, 0.1, radius_oct=0.3))]:
        times = []
        for _ in range(5):
            t = time.perf_counter()
            assert ed.apply(Edit(region, "assign", V, 0.5)) != (0, 0)
            times.append(time.perf_counter() - t)
        print(f"\n{label}: median {np.median(times) * 1e3:.1f} ms")


@pytest.mark.parametrize(("rate", "n_fft"), [(22050, 2048), (48000, 4096), (96000, 8192)])
def test_the_grid_follows_the_sample_rate(song, rate, n_fft):
    """The same frame duration at every rate; regions stay in seconds and Hz."""
    mix, base = song
    ed = MaskEditor(mix, StemSet(rate, dict(base.stems)))
    assert (ed.grid.n_fft, ed.grid.hop, ed.grid.bin_hz) == (n_fft, n_fft // 4, rate / n_fft)
    a, b = ed.apply(Edit(Region.rect(1.0, 2.0, 1000, 3000, feather=0.0), "assign", V))
    assert rate - n_fft // 2 < a <= rate and 2 * rate <= b < 2 * rate + n_fft // 2
    assert_sums_to_mix(ed)
