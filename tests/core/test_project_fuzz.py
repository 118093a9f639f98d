"""Fuzzing load_project and save_project (issue 22): mutated real projects raise only
ProjectError (never about memory), within a time bound, under an address-space limit.

A few hundred examples in CI; more with STEMSPLIT_FUZZ_EXAMPLES=5000.
"""

from __future__ import annotations

import pytest

from tests._bounded import run_bounded
from tests._fuzz import child_timeout, examples

SETUP = """
import json, sys, tempfile, zipfile
from pathlib import Path
from hypothesis import HealthCheck, given, settings, strategies as st
from stemsplit.core.editing.editor import MaskEditor
from stemsplit.core.project import ProjectError, load_project, save_project
from tests._bounded import time_bound
from tests._fuzz import PER_EXAMPLE_S, mutate, nasty_values, paths, replaced
from tests.core._projects import members, npy_with_header, rezip, small_editor, write_small_project

tmp = Path(tempfile.mkdtemp())
good = write_small_project(tmp / "good.stemsplit")
GOOD = good.read_bytes()
FILES = members(good)
MANIFEST = json.loads(FILES["manifest.json"])
PATHS = paths(MANIFEST)
ED = small_editor()
load_project(good)  # warm: every import done before the limit
"""

BODY = """
DESCRS = ["<f4", ">f4", "<f8", "<i2", "|O", "V8", "<c8", "S10", "f4, f4", "<U3"]
shapes = st.one_of(
    st.tuples(st.integers(-2, 3), st.integers(-10, 2**62)),
    st.tuples(st.sampled_from([2]), st.sampled_from([4000, 375_000_000, 2**40, 2**62])),
    st.lists(st.integers(0, 2**31), max_size=4).map(tuple))

mutations = st.one_of(
    st.tuples(st.just("bytes"), st.lists(st.tuples(st.integers(0, 2**32), st.integers(1, 255)),
                                         max_size=8), st.none() | st.integers(0, 2**32)),
    st.tuples(st.just("value"), st.sampled_from(PATHS), st.just("__DROP__") | nasty_values()),
    st.tuples(st.just("header"), st.sampled_from(["mix.npy", "stem_0.npy"]),
              st.tuples(st.sampled_from(DESCRS), st.booleans(), shapes)),
    st.tuples(st.just("manifest-bytes"),
              st.lists(st.tuples(st.integers(0, 2**32), st.integers(1, 255)), max_size=4),
              st.none() | st.integers(0, 2**32)),
    st.tuples(st.just("packed"), st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                                                  zipfile.ZIP_LZMA]), st.none()),
)


def build(m) -> bytes:
    kind = m[0]
    if kind == "bytes":
        return mutate(GOOD, m[1], m[2])
    if kind == "value":
        return rezip(FILES, replaced(MANIFEST, m[1], m[2]))
    if kind == "header":
        descr, fortran, shape = m[2]
        files = dict(FILES)
        files[m[1]] = npy_with_header(
            files[m[1]], f"{{'descr': {descr!r}, 'fortran_order': {fortran}, 'shape': {shape}, }}")
        return rezip(files)
    if kind == "manifest-bytes":
        raw = mutate(FILES["manifest.json"], m[1], m[2])
        return rezip({**FILES, "manifest.json": raw})
    return rezip(FILES, compression=m[1])


seen = {"refused": 0, "opened": 0}


@settings(max_examples=int(sys.argv[1]), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(mutations)
def fuzz(m):
    path = tmp / "fuzzed.stemsplit"
    path.write_bytes(build(m))
    with time_bound(PER_EXAMPLE_S):
        try:
            p = load_project(path)
        except ProjectError as e:
            text = str(e)
            assert "memory" not in text.lower() and "\\n" not in text and len(text) < 500, text
            seen["refused"] += 1
        else:
            MaskEditor(p.mix, p.stems).replay(p.edits)  # what the window does next
            seen["opened"] += 1
        try:   # saving over it: replaced when it is (a damaged) one of ours, else refused
            save_project(path, song_path=None, model="2stems", stems=ED.base_stems(),
                         edits=ED.history, mix=ED.mix)
        except ProjectError:
            pass


fuzz()
print("FUZZ OK", seen)
"""


@pytest.mark.slow
def test_mutated_projects_raise_only_project_error_within_bounds():
    n = examples()
    run = run_bounded(SETUP, BODY, budget_mb=600, timeout_s=child_timeout(n), args=(str(n),))
    assert run.returncode == 0 and "FUZZ OK" in run.stdout, (run.stdout[-3000:]
                                                            + run.stderr[-6000:])
    print(run.stdout.strip().splitlines()[-1])
