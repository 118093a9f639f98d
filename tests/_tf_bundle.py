"""A minimal TensorFlow tensor-bundle writer, to reach reader paths the real file does not take.

:func:`write_bundle` writes a well-formed sharded, prefix-compressed bundle;
:func:`write_index` writes an index of any entries at all (aliased offsets,
repeated blocks, huge dimensions), as a hostile file would.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TABLE_MAGIC = 0xDB4775248B80FB57


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def entry_proto(dtype: int, shape: tuple[int, ...], shard: int, offset: int, size: int) -> bytes:
    """A ``BundleEntryProto``; a negative dimension is written as int64 (10-byte varint)."""
    dims = b"".join(b"\x12" + varint(len(d)) + d
                    for d in (b"\x08" + varint(s % (1 << 64)) for s in shape))
    return (b"\x08" + varint(dtype) + b"\x12" + varint(len(dims)) + dims
            + b"\x18" + varint(shard) + b"\x20" + varint(offset) + b"\x28" + varint(size))


def block(entries: list[tuple[bytes, bytes]], restart_every: int) -> bytes:
    out, restarts, prev = bytearray(), [], b""
    for i, (key, value) in enumerate(entries):
        shared = 0
        if i % restart_every:
            while shared < min(len(key), len(prev)) and key[shared] == prev[shared]:
                shared += 1
        else:
            restarts.append(len(out))
        out += varint(shared) + varint(len(key) - shared) + varint(len(value))
        out += key[shared:] + value
        prev = key
    restarts = restarts or [0]
    out += b"".join(struct.pack("<I", r) for r in restarts) + struct.pack("<I", len(restarts))
    return bytes(out)


@dataclass(frozen=True)
class Entry:
    """One index entry, as written (nothing checked)."""

    name: str
    shape: tuple[int, ...]
    offset: int
    size: int
    shard: int = 0
    dtype: int = 1  # DT_FLOAT


def index_bytes(entries: list[tuple[bytes, bytes]], per_block: int = 3,
                repeat_blocks: int = 1) -> bytes:
    """A sorted-table index of raw ``(key, value)`` entries, ``per_block`` per data block.

    ``repeat_blocks`` > 1 names every data block that many times in the index block
    (a crafted table whose decoding would cost blocks x entries).
    """
    table, index = bytearray(), []
    for start in range(0, len(entries), per_block):
        chunk = entries[start:start + per_block]
        data = block(chunk, restart_every=2)
        handle = varint(len(table)) + varint(len(data))
        for _ in range(repeat_blocks):
            index.append((chunk[-1][0], handle))
        table += data + b"\x00\x00\x00\x00\x00"
    handles = b""
    for data in (block([], 1), block(index, 1)):
        handles += varint(len(table)) + varint(len(data))
        table += data + b"\x00\x00\x00\x00\x00"
    footer = handles.ljust(40, b"\x00") + struct.pack("<Q", TABLE_MAGIC)
    return bytes(table) + footer


def write_index(prefix: Path, entries: list[Entry], n_shards: int = 1,
                per_block: int = 3, repeat_blocks: int = 1) -> Path:
    """Write ``PREFIX.index`` listing ``entries`` as they are (sorted by name)."""
    raw = [(b"", b"\x08" + varint(n_shards))]
    raw += [(e.name.encode(), entry_proto(e.dtype, e.shape, e.shard, e.offset, e.size))
            for e in sorted(entries, key=lambda e: e.name)]
    path = Path(f"{prefix}.index")
    path.write_bytes(index_bytes(raw, per_block, repeat_blocks))
    return path


def write_bundle(prefix: Path, arrays: dict[str, np.ndarray], n_shards: int,
                 per_block: int = 3) -> None:
    """Write a TF tensor bundle: sharded data, multi-block prefix-compressed index."""
    shards = [bytearray() for _ in range(n_shards)]
    entries = []
    for i, (name, arr) in enumerate(sorted(arrays.items())):
        dtype = {np.dtype("float32"): 1, np.dtype("int64"): 9}[arr.dtype]
        shard = shards[i % n_shards]
        entries.append(Entry(name, arr.shape, len(shard), arr.nbytes, i % n_shards, dtype))
        shard += arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    for i, shard in enumerate(shards):
        Path(f"{prefix}.data-{i:05d}-of-{n_shards:05d}").write_bytes(shard)
    write_index(prefix, entries, n_shards, per_block)
