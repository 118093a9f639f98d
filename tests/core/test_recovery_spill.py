"""Base stems out of RAM: a memory-mapped scratch file that leaves nothing behind."""

from __future__ import annotations

import numpy as np
import pytest

from stemsplit.core.recovery.spill import PREFIX, Spilled, sweep


def test_spilled_arrays_read_back_bit_for_bit_and_leave_no_file(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"vocals": rng.standard_normal((2, 300_001)).astype(np.float32),
              "accompaniment": rng.standard_normal((1, 5)).astype(np.float32)}
    s = Spilled(arrays, tmp_path / "scratch")
    assert list((tmp_path / "scratch").iterdir()) == []  # unlinked once mapped
    for k, a in arrays.items():
        assert s.arrays[k].shape == a.shape and s.arrays[k].dtype == np.float32
        np.testing.assert_array_equal(s.arrays[k], a)
        with pytest.raises(ValueError):
            s.arrays[k][0, 0] = 1.0  # read-only: the base is never edited
    s.drop_pages()
    np.testing.assert_array_equal(s.arrays["vocals"], arrays["vocals"])
    assert s.nbytes == sum(a.nbytes for a in arrays.values())


def test_leftovers_of_other_processes_are_swept(tmp_path):
    stale = tmp_path / f"{PREFIX}1-abc.f32"
    stale.write_bytes(b"x" * 16)
    other = tmp_path / "keep.f32"
    other.write_bytes(b"y")
    sweep(tmp_path)
    assert not stale.exists() and other.exists()


def test_a_folder_that_cannot_be_written_raises_oserror(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError):
        Spilled({"a": np.zeros((2, 4), np.float32)}, blocker / "scratch")
