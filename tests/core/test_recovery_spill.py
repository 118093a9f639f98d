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


def mapping_of(a: np.ndarray) -> str:
    """The /proc/self/maps line holding the middle of ``a``'s memory."""
    mid = a.__array_interface__["data"][0] + a.nbytes // 2
    with open("/proc/self/maps") as f:
        for line in f:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if lo <= mid < hi:
                return line
    return ""


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) for x in f if x.startswith("VmRSS:")) / 1024


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="Linux only")
def test_page_out_keeps_the_same_arrays_and_bits_and_gives_the_ram_back(tmp_path):
    from stemsplit.core.recovery.spill import page_out

    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 12_000_001)).astype(np.float32)  # 96 MB, not page-aligned
    view = a[:, 7:]  # the editor's view of the same memory
    small = rng.standard_normal((2, 1000)).astype(np.float32)  # shares pages with others
    want, want_small = a.copy(), small.copy()
    before = rss_mb()
    moved = page_out([a, view, small], tmp_path)
    assert moved > a.nbytes - 2 * 4096 and moved <= a.nbytes  # whole pages inside, once
    assert rss_mb() < before - 80  # the RAM went back at once
    assert list(tmp_path.iterdir()) == []  # the scratch file has no name any more
    assert PREFIX in mapping_of(a) and "(deleted)" in mapping_of(a)
    assert PREFIX not in mapping_of(small)  # under MIN_PAGE_OUT: left in RAM
    np.testing.assert_array_equal(a, want)
    np.testing.assert_array_equal(small, want_small)
    view[1, -1] = 5.0  # copy-on-write: edits still land in the arrays, not in the file
    a[0, 0] = -3.0
    assert a[1, -1] == 5.0 and view[0, 0] == a[0, 7]
    want[1, -1], want[0, 0] = 5.0, -3.0
    np.testing.assert_array_equal(a, want)
    assert page_out([a], tmp_path) > 0  # again, with written pages: still the same bits
    np.testing.assert_array_equal(a, want)
