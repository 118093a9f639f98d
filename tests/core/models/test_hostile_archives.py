"""Crafted and damaged Spleeter archives, checkpoints and cache files (issue 22, items 21-26).

Every hostile input is small: the bombs are a few hundred KB that would inflate
to hundreds of MB, the aliasing indexes a few KB. Each must end in one
ModelError sentence, quickly, with nothing installed or left behind.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from stemsplit.core.errors import ModelError
from stemsplit.core.models import store as model_store
from stemsplit.core.models.archives import ArchiveLimits, safe_extract
from stemsplit.core.models.download import fetch
from stemsplit.core.models.spleeter.convert import convert_spleeter
from stemsplit.core.models.spleeter.tf_checkpoint import (
    MAX_INDEX_BYTES,
    CheckpointError,
    read_checkpoint,
    read_index,
)
from tests._model_archives import (
    ServerState,
    archive_server,
    lite_checkpoint_dir,
    lite_tarball,
    offline_url,
    register_archives,
    tar_bytes,
)
from tests._tf_bundle import Entry, write_bundle, write_index

SMALL = ArchiveLimits(member_bytes=1 << 20, total_bytes=2 << 20, slack_bytes=256 << 10,
                      small_members={".index": 64 << 10})


def _nothing_installed(name: str) -> None:
    assert not model_store.is_installed(name)
    assert list(model_store.models_dir().glob(".install-*")) == []


def _finishes(fn, timeout: float = 20.0) -> BaseException | None:
    """Run ``fn`` in a thread; fail if it is still running after ``timeout`` (a hang)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            fn()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 (handed back to the test)
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "it hangs"
    return outcome[0]


# -- item 21: bounded archives, linear index, no aliasing --------------------------------


def test_index_entries_aliasing_one_shard_are_refused(tmp_path):
    shard = tmp_path / "model.data-00000-of-00001"
    shard.write_bytes(bytes(4096))
    write_index(tmp_path / "model", [Entry(f"conv2d_{i}/kernel", (1024,), 0, 4096)
                                     for i in range(3)])
    with pytest.raises(CheckpointError, match="overlap in their data shard"):
        read_checkpoint(tmp_path / "model")
    write_index(tmp_path / "model", [Entry("a", (512,), 0, 2048), Entry("b", (512,), 1024, 2048)])
    with pytest.raises(CheckpointError, match="overlap"):
        read_checkpoint(tmp_path / "model")


def test_shards_that_are_one_file_are_refused(tmp_path):
    (tmp_path / "model.data-00000-of-00002").write_bytes(bytes(64))
    os.link(tmp_path / "model.data-00000-of-00002", tmp_path / "model.data-00001-of-00002")
    write_index(tmp_path / "model", [Entry("a", (16,), 0, 64, shard=0),
                                     Entry("b", (16,), 0, 64, shard=1)], n_shards=2)
    with pytest.raises(CheckpointError, match="same file as another data shard"):
        read_checkpoint(tmp_path / "model")


def test_an_index_naming_its_blocks_many_times_is_refused(tmp_path):
    entries = [Entry(f"v{i:04d}", (1,), 4 * i, 4) for i in range(30)]
    (tmp_path / "model.data-00000-of-00001").write_bytes(bytes(120))
    write_index(tmp_path / "model", entries, per_block=10)
    assert len(read_index(tmp_path / "model.index")[1]) == 30  # the honest table reads
    write_index(tmp_path / "model", entries, per_block=10, repeat_blocks=50)
    with pytest.raises(CheckpointError, match="overlapping or repeated blocks"):
        read_index(tmp_path / "model.index")


def test_an_index_repeating_a_name_is_refused(tmp_path):
    from tests._tf_bundle import entry_proto, index_bytes, varint

    value = entry_proto(1, (1,), 0, 0, 4)
    raw = [(b"", b"\x08" + varint(1))] + [(b"same", value)] * 5000
    (tmp_path / "model.index").write_bytes(index_bytes(raw, per_block=100))
    with pytest.raises(CheckpointError, match="repeated or unsorted names"):
        read_index(tmp_path / "model.index")


def test_an_oversized_index_is_refused_before_it_is_read(tmp_path):
    (tmp_path / "model.index").write_bytes(b"\x00" * (MAX_INDEX_BYTES + 1))
    with pytest.raises(CheckpointError, match="more than any genuine checkpoint index"):
        read_index(tmp_path / "model.index")


def test_each_member_and_the_total_are_bounded_before_writing(tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(tar_bytes({"model.index": os.urandom(65 << 10)}))
    with pytest.raises(ModelError, match="model.index would unpack to 67 KB, more than "
                                         "this model's 66 KB"):
        safe_extract(archive, tmp_path / "out", SMALL)
    assert not (tmp_path / "out").exists()
    archive.write_bytes(tar_bytes({f"part{i}": bytes(600 << 10) for i in range(4)}))
    no_ratio = dataclasses.replace(SMALL, max_ratio=1e9)
    with pytest.raises(ModelError, match="unpacks to more than 2.1 MB"):
        safe_extract(archive, tmp_path / "out", no_ratio)
    assert not (tmp_path / "out").exists()  # what was written before the refusal is gone


def test_a_decompression_bomb_is_stopped_by_the_ratio(tmp_path):
    archive = tmp_path / "bomb.tar.gz"
    archive.write_bytes(tar_bytes({"model.data-00000-of-00001": bytes(64 << 20)}))
    assert archive.stat().st_size < 200_000
    limits = model_store.archive_limits("2stems")  # 64 MB is allowed for a member
    with pytest.raises(ModelError, match="decompression bomb"):
        safe_extract(archive, tmp_path / "out", limits)
    assert not (tmp_path / "out").exists()


def test_a_crafted_archive_with_a_valid_checksum_installs_nothing(tmp_path, monkeypatch):
    """A mirror (or a forged record) vouches for a bomb: the limits still hold."""
    body = tar_bytes({"model.index": bytes(MAX_INDEX_BYTES + 1),
                      "model.data-00000-of-00001": bytes(16)})
    archive = tmp_path / "4stems.tar.gz"
    archive.write_bytes(body)
    register_archives({"4stems": body}, monkeypatch)
    with pytest.raises(ModelError, match="model.index would unpack to"):
        model_store.install("4stems", source=archive)
    _nothing_installed("4stems")


# -- item 22: regular files only -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "link-to-dev-zero"])
def test_from_a_fifo_or_a_device_is_refused_at_once(tmp_path, kind, monkeypatch):
    monkeypatch.setenv(model_store.BASE_URL_ENV, offline_url())
    source = tmp_path / "4stems.tar.gz"
    if kind == "fifo":
        os.mkfifo(source)
    elif kind == "dev-zero":
        source = Path("/dev/zero")
    else:
        source.symlink_to("/dev/zero")
    exc = _finishes(lambda: model_store.install("4stems", source=source))
    assert isinstance(exc, ModelError), exc
    assert "not a regular file" in str(exc)
    _nothing_installed("4stems")


@pytest.mark.parametrize("kind", ["fifo", "link-to-dev-zero"])
def test_a_folder_whose_index_is_not_a_file_is_refused(tmp_path, kind):
    folder = tmp_path / "ckpt"
    shutil.copytree(lite_checkpoint_dir(), folder)
    (folder / "model.index").unlink()
    if kind == "fifo":
        os.mkfifo(folder / "model.index")
    else:
        (folder / "model.index").symlink_to("/dev/zero")
    exc = _finishes(lambda: model_store.install("2stems", source=folder))
    assert isinstance(exc, ModelError) and "not a regular file" in str(exc), exc
    _nothing_installed("2stems")


# -- item 23: checksums for --from, compressed streams read to their end --------------------


def test_from_a_file_offline_is_checked_against_the_published_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv(model_store.BASE_URL_ENV, offline_url())
    register_archives({"2stems": lite_tarball()}, monkeypatch)
    flipped = bytearray(lite_tarball())
    flipped[len(flipped) // 2] ^= 0x10
    archive = tmp_path / "2stems.tar.gz"
    archive.write_bytes(bytes(flipped))
    with pytest.raises(ModelError, match="is not the published 2stems archive"):
        model_store.install("2stems", source=archive)
    _nothing_installed("2stems")


def test_the_published_checksums_are_recorded():
    assert model_store.ARCHIVE_SHA256["2stems"].startswith("f3a90b39")
    assert all(len(v) == 64 for v in model_store.ARCHIVE_SHA256.values())


def test_a_flipped_bit_in_stored_data_fails_the_gzip_crc(tmp_path):
    import gzip
    import io
    import tarfile

    buf = io.BytesIO()
    payload = np.arange(4096, dtype=np.float32).tobytes()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=0) as gz, \
            tarfile.open(fileobj=gz, mode="w|") as tar:
        info = tarfile.TarInfo("model.data-00000-of-00001")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    data = bytearray(buf.getvalue())
    at = data.find(payload[4000:4016])  # stored (level 0): the payload lies there verbatim
    data[at] ^= 0x01  # the tar part stays well-formed; only the CRC-32 trailer can tell
    archive = tmp_path / "flipped.tar.gz"
    archive.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="CRC check failed"):
        safe_extract(archive, tmp_path / "out", SMALL)
    assert not (tmp_path / "out").exists()


# -- item 25: the download cache is never followed through a link ---------------------------


BODY = bytes(range(256)) * 64


def _fetch_from(state: ServerState, part: Path) -> Path:
    with archive_server(state) as url:
        return fetch(url + "m.tar.gz", part, "try again")


def test_a_planted_part_symlink_is_not_appended_to(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"nineteen bytes here")
    part = tmp_path / ".downloads" / "m.tar.gz.part"
    part.parent.mkdir()
    part.symlink_to(victim)
    state = ServerState(files={"/m.tar.gz": BODY})
    assert _fetch_from(state, part).read_bytes() == BODY
    assert victim.read_bytes() == b"nineteen bytes here"
    assert not part.is_symlink()
    assert state.requests == [("/m.tar.gz", None)]  # a fresh download, no Range from 19


def test_a_part_that_is_a_folder(tmp_path):
    part = tmp_path / ".downloads" / "m.tar.gz.part"
    part.mkdir(parents=True)
    state = ServerState(files={"/m.tar.gz": BODY})
    assert _fetch_from(state, part).read_bytes() == BODY  # an empty folder is ours to clear
    part.unlink()
    part.mkdir()
    (part / "notes.txt").write_text("someone's")
    with pytest.raises(ModelError, match="is a folder where stemsplit keeps an "
                                         "unfinished download; move or delete it"):
        _fetch_from(state, part)
    assert (part / "notes.txt").read_text() == "someone's"


def test_a_server_sending_more_than_the_model_is_stopped(tmp_path):
    part = tmp_path / "m.tar.gz.part"
    with archive_server(ServerState(files={"/m.tar.gz": BODY})) as url, \
            pytest.raises(ModelError, match="larger than the model it should be"):
        fetch(url + "m.tar.gz", part, "try again", max_bytes=len(BODY) - 1)
    assert not part.exists()


# -- item 26: shapes checked at install, dimensions that would wrap ------------------------


def test_a_tensor_of_the_wrong_shape_is_refused_at_install():
    variables = read_checkpoint(lite_checkpoint_dir())
    variables["conv2d_3/kernel"] = variables["conv2d_3/kernel"][:, :, :, :64].copy()
    with pytest.raises(ModelError, match=r"conv2d_3/kernel has shape \(5, 5, 64, 64\), which "
                                         "does not fit the Spleeter U-Net"):
        convert_spleeter(variables, 2)


def test_a_weight_that_is_not_finite_is_refused_at_install():
    variables = read_checkpoint(lite_checkpoint_dir())
    variables["conv2d/bias"] = variables["conv2d/bias"].copy()
    variables["conv2d/bias"][3] = np.nan
    with pytest.raises(ModelError, match="NaN or infinite"):
        convert_spleeter(variables, 2)


@pytest.mark.parametrize("shape", [(1 << 62, 4), (1 << 32, 1 << 32), (-1, 4)])
def test_dimensions_that_wrap_int64_are_refused(tmp_path, shape):
    (tmp_path / "model.data-00000-of-00001").write_bytes(bytes(16))
    write_index(tmp_path / "model", [Entry("conv2d/kernel", shape, 0, 0)])
    with pytest.raises(CheckpointError):
        read_checkpoint(tmp_path / "model")


def test_a_sharded_bundle_still_reads(tmp_path):
    arrays = {f"v{i}": np.full(7 + i, i, np.float32) for i in range(5)}
    write_bundle(tmp_path / "model", arrays, n_shards=2)
    loaded = read_checkpoint(tmp_path / "model")
    assert all(np.array_equal(loaded[k], v) for k, v in arrays.items())
    assert all(v.flags.writeable for v in loaded.values())
