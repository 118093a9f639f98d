"""Edits replayed from a file cost what they touch (issue 22, item 17): regions outside
the song, 20 000-vertex lassos and dense brushes under huge radii are bounded, and the
undo history grows linearly with the number of edits. Timings: benchmarks/project_replay.py."""

from __future__ import annotations

import tracemalloc

import numpy as np

from stemsplit.core.editing.editor import Edit, MaskEditor, Region
from stemsplit.core.editing.lasso import MAX_VERTICES
from stemsplit.core.stems import StemSet
from tests._bounded import run_bounded

V, A = "vocals", "accompaniment"


def editor(seconds: float, rate: int = 44100) -> MaskEditor:
    rng = np.random.default_rng(1)
    mix = (rng.standard_normal((2, int(seconds * rate))) * 0.1).astype(np.float32)
    v = (mix * 0.4).astype(np.float32)
    return MaskEditor(mix, StemSet(rate, {V: v, A: mix - v}))


HUGE_LASSO = """
import sys
import numpy as np
from stemsplit.core.editing.editor import Edit, MaskEditor, Region
from stemsplit.core.stems import StemSet
rng = np.random.default_rng(1)
mix = (rng.standard_normal((2, 44100 * 10)) * 0.1).astype(np.float32)
ed = MaskEditor(mix, StemSet(44100, {"vocals": mix * 0.5, "accompaniment": mix * 0.5}))
"""


def test_a_2000_s_lasso_over_a_10_s_song_costs_what_its_part_inside_does():
    """200 bytes of JSON once took 3.3 GB on open (its grid followed the outline 2000 s)."""
    body = """
edit = Edit.from_json({"op": "assign", "stem": "vocals", "amount": 1.0, "region": {
    "t0": -1000, "t1": 1000, "f0": 0, "f1": 20000, "feather": 1.0,
    "outline": [[-1000, 0], [1000, 0], [1000, 20000], [-1000, 20000]]}})
a, b = ed.apply(edit)
print("changed", a, b)
"""
    run = run_bounded(HUGE_LASSO, body, budget_mb=700, timeout_s=300)
    assert "changed 0 441000" in run.stdout, run.stderr[-3000:]


def test_a_long_outline_from_a_file_is_thinned_as_a_drawn_one_is():
    ring = [[8 + 7 * np.cos(a), 5000 + 4000 * np.sin(a)]
            for a in np.linspace(0, 2 * np.pi, 20_000)]
    d = {"op": "assign", "stem": V, "region": {"t0": 1, "t1": 15, "f0": 1000, "f1": 9000,
                                                "outline": ring}}
    region = Edit.from_json(d).region
    assert len(region.outline) <= MAX_VERTICES
    again = Edit.from_json(Edit(region, "assign", V).to_json()).region
    assert again == region  # a saved thinned outline reads back unchanged


def test_a_dense_stroke_under_a_huge_radius_is_thinned():
    """3000 mouse points under a 1000 s radius once took 24 s to replay."""
    pts = [(1 + i * 1e-3, 1000.0 + i) for i in range(3000)]
    huge = Region.brush(pts, 1000.0, radius_hz=50_000.0)
    assert len(huge.strokes) <= 3
    normal = Region.brush(pts, 0.05, radius_hz=200.0)    # points 0.02 radius apart
    assert 0.5 * len(pts) < len(normal.strokes)          # a normal brush keeps its shape
    assert Region.from_json(normal.to_json()) == normal  # thinning is idempotent
    ed = editor(3.0)
    tracemalloc.start()
    ed.apply(Edit(huge, "remove", V))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 400 * 2**20


def test_the_history_of_many_edits_grows_linearly():
    """Each step kept a copy of the whole edit list: 10 000 edits held 1.6 GB."""
    ed = editor(0.5, rate=8000)
    edits = [Edit(Region.rect(0.1 + (i % 50) * 0.005, 0.15 + (i % 50) * 0.005, 500, 1500),
                  "scale", V, 0.8 + (i % 3) * 0.05) for i in range(3000)]
    ed.replay(edits[:100])
    tracemalloc.start()
    ed.replay(edits[100:])
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    audio = ed.history_nbytes
    # ~100 bytes of bookkeeping per step beside its audio (was ~2.9 kB per step here).
    assert held - audio < 3000 * 600, (held, audio)
    assert ed.history == edits


def test_the_bytes_held_stay_exact_through_undo_redo_and_clear():
    ed = editor(2.0, rate=8000)
    rng = np.random.default_rng(3)
    for i in range(60):
        t = float(rng.uniform(0, 1.8))
        ed.apply(Edit(Region.rect(t, t + 0.2, 100, 3000), "assign" if i % 2 else "remove", V))
        if i % 7 == 3:
            ed.undo()
            ed.undo()
        if i % 11 == 5:
            ed.redo()
        if i == 40:
            ed.clear(V)
    h = ed._history
    assert h.nbytes == sum(s.nbytes for s in [*h.undo, *h.redo])
    small = MaskEditor(ed.mix, ed.base_stems(), history_bytes=200_000)
    small.replay(ed.history)
    hs = small._history
    assert hs.nbytes == sum(s.nbytes for s in [*hs.undo, *hs.redo]) <= 200_000


def _session(rng, names, seconds, n) -> list[Edit]:
    """Rectangles, brushes and lassos of every operation, some past the song's ends."""
    out = []
    for i in range(n):
        t = float(rng.uniform(-0.3, seconds))
        w, f = float(rng.uniform(0.05, 1.5)), float(2 ** rng.uniform(7, 13))
        if i % 3 == 0:
            region = Region.rect(t, t + w, f, f * 2, feather=float(rng.uniform(0, 1)))
        elif i % 3 == 1:
            region = Region.brush([(t + j * w / 5, f * (1 + j / 10)) for j in range(5)], 0.05,
                                  radius_oct=0.3)
        else:
            a = np.linspace(0, 2 * np.pi, 12, endpoint=False)
            region = Region.lasso(zip(t + w / 2 * (1 + np.cos(a)), f * 2 ** np.sin(a),
                                      strict=True), feather=0.3, log_freq=True)
        op = ("assign", "remove", "scale", "scale")[i % 4]
        amount = (0.4, 2.5)[i % 2] if op == "scale" else 0.8
        out.append(Edit(region, op, names[int(rng.integers(len(names)))], amount))
    return out


def test_a_replayed_project_undoes_and_redoes_as_the_live_session_did():
    """Replay is the live path edit by edit: same stems after each, and each replayed edit
    undoes to the live state before it (two stems take the one-spectrum shortcut, four not)."""
    rng = np.random.default_rng(6)
    mix = (rng.standard_normal((2, 44100 * 4)) * 0.1).astype(np.float32)
    parts = [(mix * g).astype(np.float32) for g in (0.4, 0.3, 0.2)]
    two = StemSet(44100, {V: parts[0], A: mix - parts[0]})
    four = StemSet(44100, {"v": parts[0], "d": parts[1], "b": parts[2],
                           "o": ((mix - parts[0]) - parts[1]) - parts[2]})
    for stems in (two, four):
        edits = _session(rng, stems.names, 4.0, 24)
        live = MaskEditor(mix, stems)
        states = [{k: x.copy() for k, x in live.stems().stems.items()}]
        for e in edits:
            live.apply(e)
            states.append({k: x.copy() for k, x in live.stems().stems.items()})
        again = MaskEditor(mix, stems)
        again.replay(edits)
        for i in range(len(edits), len(edits) - 6, -1):
            for k, x in again.stems().stems.items():
                assert np.array_equal(x, states[i][k]), (i, k)
            assert again.undo_label == edits[i - 1].label
            again.undo()
        while again.can_redo:
            again.redo()
        for k, x in again.stems().stems.items():
            assert np.array_equal(x, states[-1][k]), k
        assert again.history == edits
