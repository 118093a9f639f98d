"""Read TensorFlow (v1/v2 "tensor bundle") checkpoints with numpy alone.

A checkpoint ``PREFIX`` is a ``PREFIX.index`` file plus ``PREFIX.data-SSSSS-of-NNNNN``
shards. The index is a LevelDB-style sorted table (uncompressed blocks of
prefix-compressed key/value entries, an index block and a 48-byte footer). Its
keys are variable names; its values are ``BundleEntryProto`` messages that say
where each tensor's raw little-endian bytes lie in which shard. The entry with
the empty key is the ``BundleHeaderProto`` (shard count, endianness).

Only what stemsplit needs is decoded: numeric dense tensors. Anything else
(strings, sliced/partitioned variables, compressed tables) raises
``CheckpointError`` with a message, never a crash deep inside numpy.

The files may be hostile, so reading is bounded and linear: the index is a
regular file of at most :data:`MAX_INDEX_BYTES`; its blocks must be disjoint and
in order and its keys strictly increasing (so no block or entry is decoded
twice); entries, key lengths, ranks and dimensions are capped; and no two
tensors may share bytes of a shard, so reading every tensor costs at most the
shards' own size in memory.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stemsplit.core.errors import ModelError
from stemsplit.core.models.safe_files import open_regular, read_regular

# LevelDB's table magic (kTableMagicNumber), little-endian in the footer's last 8 bytes.
_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_SIZE = 48
_BLOCK_TRAILER = 5  # 1 byte compression type + 4 bytes masked crc32c

# Spleeter's 5-stem index is ~20 KB with ~400 entries (~1200 with optimizer slots).
MAX_INDEX_BYTES = 8 << 20
MAX_ENTRIES = 100_000
MAX_KEY_BYTES = 4096
MAX_RANK = 16
MAX_SHARDS = 1024
_INT64_MAX = (1 << 63) - 1

# tensorflow/core/framework/types.proto DataType -> numpy little-endian dtype.
_DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),   # DT_FLOAT
    2: np.dtype("<f8"),   # DT_DOUBLE
    3: np.dtype("<i4"),   # DT_INT32
    4: np.dtype("u1"),    # DT_UINT8
    5: np.dtype("<i2"),   # DT_INT16
    6: np.dtype("i1"),    # DT_INT8
    9: np.dtype("<i8"),   # DT_INT64
    10: np.dtype("?"),    # DT_BOOL
    17: np.dtype("<u2"),  # DT_UINT16
    19: np.dtype("<f2"),  # DT_HALF
    22: np.dtype("<u4"),  # DT_UINT32
    23: np.dtype("<u8"),  # DT_UINT64
}


class CheckpointError(ModelError):
    """A TensorFlow checkpoint is missing, truncated or uses a feature we do not read."""


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives (a decoded ``BundleEntryProto``).

    Attributes:
        dtype: TensorFlow DataType enum value.
        shape: dimensions, outermost first (TensorFlow's layout).
        shard: index of the ``.data`` shard.
        offset, size: byte range inside that shard.
        sliced: the variable is stored as slices (partitioned); not supported.
    """

    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    sliced: bool = False


# -- protobuf wire format (just enough for the two messages we need) --------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise CheckpointError("checkpoint index is truncated (varint)")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CheckpointError("checkpoint index holds a malformed varint")


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """Split a protobuf message into (field number, value) pairs."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, value))
        elif wire in (1, 2, 5):
            if wire == 2:
                length, pos = _varint(buf, pos)
            else:
                length = 8 if wire == 1 else 4
            if pos + length > len(buf):
                raise CheckpointError("checkpoint index is truncated (protobuf field)")
            out.append((number, buf[pos:pos + length]))
            pos += length
        else:
            raise CheckpointError(f"checkpoint index uses protobuf wire type {wire}")
    return out


def _parse_shape(buf: bytes) -> tuple[int, ...]:
    dims: list[int] = []
    for number, value in _fields(buf):
        if number == 2 and isinstance(value, bytes):  # TensorShapeProto.dim
            size = 0
            for n, v in _fields(value):
                if n == 1 and isinstance(v, int):
                    size = v
            if size > _INT64_MAX:  # a negative int64 (-1: unknown) read as unsigned
                raise CheckpointError("checkpoint holds a tensor of unknown or negative size")
            dims.append(size)
            if len(dims) > MAX_RANK:
                raise CheckpointError(f"checkpoint holds a tensor of more than {MAX_RANK} "
                                      "dimensions")
        elif number == 3 and value:  # unknown_rank
            raise CheckpointError("checkpoint holds a tensor of unknown rank")
    return tuple(dims)


def _parse_entry(buf: bytes) -> TensorEntry:
    dtype = shard = offset = size = 0
    shape: tuple[int, ...] = ()
    sliced = False
    for number, value in _fields(buf):
        if number == 1 and isinstance(value, int):
            dtype = value
        elif number == 2 and isinstance(value, bytes):
            shape = _parse_shape(value)
        elif number == 3 and isinstance(value, int):
            shard = value
        elif number == 4 and isinstance(value, int):
            offset = value
        elif number == 5 and isinstance(value, int):
            size = value
        elif number == 7:
            sliced = True
    return TensorEntry(dtype, shape, shard, offset, size, sliced)


# -- the sorted-table (LevelDB) layout ---------------------------------------------------


def _handle(handle: bytes, pos: int = 0) -> tuple[int, int, int]:
    """A BlockHandle (offset, size varints) at ``handle[pos:]``: ``(offset, end, next pos)``."""
    offset, pos = _varint(handle, pos)
    size, pos = _varint(handle, pos)
    return offset, offset + size, pos


def _block(data: bytes, offset: int, end: int) -> bytes:
    """The block at ``data[offset:end]`` (its trailer checked for compression)."""
    if end + _BLOCK_TRAILER > len(data):
        raise CheckpointError("checkpoint index is truncated (block past end of file)")
    if data[end] != 0:
        # TF writes bundles uncompressed; a snappy table would need a codec we do not ship.
        raise CheckpointError("checkpoint index uses a compressed table, which is not supported")
    return data[offset:end]


def _block_entries(block: bytes) -> list[tuple[bytes, bytes]]:
    """Decode a table block: prefix-compressed entries followed by restart offsets."""
    if len(block) < 4:
        raise CheckpointError("checkpoint index has a malformed block")
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    limit = len(block) - 4 - 4 * n_restarts
    if limit < 0:
        raise CheckpointError("checkpoint index has a malformed block")
    entries: list[tuple[bytes, bytes]] = []
    key = b""
    pos = 0
    while pos < limit:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        if shared > len(key) or pos + unshared + value_len > limit:
            raise CheckpointError("checkpoint index has a malformed entry")
        if shared + unshared > MAX_KEY_BYTES:
            raise CheckpointError(f"checkpoint index holds a name longer than {MAX_KEY_BYTES} "
                                  "bytes")
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        entries.append((key, block[pos:pos + value_len]))
        pos += value_len
    return entries


def read_index(index_path: Path) -> tuple[int, dict[str, TensorEntry]]:
    """Parse a ``.index`` file.

    Returns:
        ``(num_shards, {variable name: TensorEntry})``.

    Raises:
        CheckpointError: unreadable, truncated or unsupported index.
    """
    try:
        data = read_regular(Path(index_path), MAX_INDEX_BYTES, what="checkpoint index")
    except CheckpointError:
        raise
    except ModelError as exc:
        raise CheckpointError(f"cannot read the checkpoint index: {exc}") from exc
    if len(data) < _FOOTER_SIZE:
        raise CheckpointError(f"{index_path} is too short to be a checkpoint index")
    footer = data[-_FOOTER_SIZE:]
    if struct.unpack_from("<Q", footer, 40)[0] != _TABLE_MAGIC:
        raise CheckpointError(f"{index_path} is not a TensorFlow checkpoint index")
    _meta_offset, _meta_end, pos = _handle(footer, 0)  # metaindex: unused (no filters)
    index_offset, index_end, _ = _handle(footer, pos)
    index_block = _block(data, index_offset, index_end)
    num_shards = 1
    entries: dict[str, TensorEntry] = {}
    previous: bytes | None = None
    block_end = 0
    count = 0
    for _last_key, handle in _block_entries(index_block):
        offset, end, _ = _handle(handle)
        # Data blocks lie in order before the index block, each once: a table that
        # names a block twice (or overlapping ones) would cost blocks x entries.
        if offset < block_end or end > index_offset:
            raise CheckpointError("checkpoint index has overlapping or repeated blocks")
        block_end = end + _BLOCK_TRAILER
        for key, value in _block_entries(_block(data, offset, end)):
            if previous is not None and key <= previous:
                raise CheckpointError("checkpoint index has repeated or unsorted names")
            previous = key
            count += 1
            if count > MAX_ENTRIES:
                raise CheckpointError(f"checkpoint index holds more than {MAX_ENTRIES} "
                                      "entries, far more than a model")
            if key == b"":  # BundleHeaderProto
                for number, field_value in _fields(value):
                    if number == 1 and isinstance(field_value, int):
                        num_shards = field_value
                    elif number == 2 and field_value == 1:
                        raise CheckpointError("big-endian checkpoints are not supported")
                continue
            entries[key.decode("utf-8", "replace")] = _parse_entry(value)
    if not 1 <= num_shards <= MAX_SHARDS:
        raise CheckpointError(f"checkpoint index claims {num_shards} data shards")
    for name, entry in entries.items():
        if entry.shard >= num_shards:
            raise CheckpointError(f"variable {name} lies in shard {entry.shard} of "
                                  f"{num_shards}")
    return num_shards, entries


def checkpoint_prefix(path: Path) -> Path:
    """Accept a prefix, its ``.index`` file or a folder holding exactly one index."""
    path = Path(path)
    if path.is_dir():
        indexes = sorted(path.glob("*.index"))
        if len(indexes) != 1:
            raise CheckpointError(f"expected one checkpoint .index in {path}, found "
                                  f"{len(indexes)}")
        path = indexes[0]
    if path.suffix == ".index":
        path = path.with_suffix("")
    return path


def read_checkpoint(path: Path, skip_optimizer: bool = True,
                    max_shard_bytes: int | None = None) -> dict[str, np.ndarray]:
    """Load every numeric tensor of a checkpoint into numpy arrays.

    Args:
        path: checkpoint prefix (``.../model``), its ``.index`` file, or its folder.
        skip_optimizer: leave out Adam/Momentum slots and bookkeeping such as
            ``global_step``; inference never needs them and they triple the size.
        max_shard_bytes: refuse a data shard larger than this (what the model's
            registry entry allows); None for no limit.

    Returns:
        Variable name -> array in TensorFlow's layout (e.g. conv kernels HWIO).

    Raises:
        CheckpointError: missing shard, truncated data, unsupported tensor, or
            tensors that share bytes.
    """
    prefix = checkpoint_prefix(path)
    num_shards, entries = read_index(prefix.with_name(prefix.name + ".index"))
    wanted: list[tuple[str, TensorEntry, np.dtype]] = []
    for name, entry in sorted(entries.items()):
        if skip_optimizer and _is_optimizer_state(name):
            continue
        if entry.sliced:
            raise CheckpointError(f"variable {name} is partitioned, which is not supported")
        dtype = _DTYPES.get(entry.dtype)
        if dtype is None:
            if skip_optimizer:
                continue  # e.g. string tensors in bookkeeping; never model weights
            raise CheckpointError(f"variable {name} has unsupported dtype {entry.dtype}")
        count = 1
        for dim in entry.shape:  # Python ints: a product cannot wrap around as int64 does
            count *= dim
        if count * dtype.itemsize != entry.size:
            raise CheckpointError(f"variable {name}: {entry.size} bytes do not hold "
                                  f"shape {entry.shape}")
        wanted.append((name, entry, dtype))
    _check_disjoint(wanted)
    files: dict[int, object] = {}
    arrays: dict[str, np.ndarray] = {}
    try:
        for name, entry, dtype in wanted:
            if entry.shard not in files:
                files[entry.shard] = _open_shard(prefix, entry.shard, num_shards,
                                                 max_shard_bytes, files)
            fh = files[entry.shard]
            size = os.fstat(fh.fileno()).st_size
            if entry.offset + entry.size > size:
                raise CheckpointError(f"variable {name} lies past the end of its data shard "
                                      "(truncated download?)")
            buf = bytearray(entry.size)  # writable, and the file can be closed/deleted
            try:
                fh.seek(entry.offset)
                got = fh.readinto(buf) if entry.size else 0
            except (OSError, OverflowError) as exc:
                raise CheckpointError(f"cannot read checkpoint data for {name}: {exc}") \
                    from exc
            if got != entry.size:
                raise CheckpointError(f"variable {name} lies past the end of its data shard "
                                      "(truncated download?)")
            arrays[name] = np.frombuffer(buf, dtype=dtype).reshape(entry.shape)
    finally:
        for fh in files.values():
            fh.close()
    return arrays


def _check_disjoint(wanted: list[tuple[str, TensorEntry, np.dtype]]) -> None:
    """Refuse tensors that share bytes: aliasing would multiply what a small file costs."""
    spans = sorted((entry.shard, entry.offset, entry.offset + entry.size, name)
                   for name, entry, _ in wanted if entry.size)
    for before, after in zip(spans, spans[1:], strict=False):
        (shard_a, _, end_a, name_a), (shard_b, start_b, _, name_b) = before, after
        if shard_a == shard_b and start_b < end_a:
            raise CheckpointError(f"variables {name_a} and {name_b} overlap in their data "
                                  "shard; the checkpoint is damaged or crafted")


def _open_shard(prefix: Path, shard: int, num_shards: int, max_bytes: int | None,
                opened: dict[int, object]):
    shard_path = prefix.with_name(f"{prefix.name}.data-{shard:05d}-of-{num_shards:05d}")
    try:
        fh = open_regular(shard_path, max_bytes, what="checkpoint data shard")
    except ModelError as exc:
        raise CheckpointError(f"cannot read checkpoint data {shard_path}: {exc}") from exc
    ident = os.fstat(fh.fileno())
    for other in opened.values():
        seen = os.fstat(other.fileno())
        if (seen.st_dev, seen.st_ino) == (ident.st_dev, ident.st_ino):
            fh.close()
            raise CheckpointError(f"{shard_path.name} is the same file as another data shard "
                                  "(a link); the checkpoint is damaged or crafted")
    return fh


def _is_optimizer_state(name: str) -> bool:
    leaf = name.rsplit("/", 1)[-1]
    return (leaf.startswith(("Adam", "Momentum", "RMSProp"))
            or name in ("global_step", "beta1_power", "beta2_power")
            or name.startswith("_CHECKPOINTABLE_OBJECT_GRAPH"))
