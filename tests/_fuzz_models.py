"""Fuzzing worker for the model readers, run in a subprocess under a memory limit.

``python -m tests._fuzz_models TARGET SEED WORKDIR EXAMPLES`` mutates the valid
file(s) at ``SEED`` with hypothesis (bit flips, truncations, huge counts and
varints, repeated slices; JSON values of every wrong type for configurations)
and feeds each mutant to the reader. The only exception a reader may raise is
``ModelError``; anything else - ``MemoryError`` under the parent's address-space
limit included - fails the run with the falsifying example. Exit 0 means every
example ended cleanly.

Targets:
    index        ``tf_checkpoint.read_index`` on a mutated ``.index`` file.
    checkpoint   ``read_checkpoint`` on a small bundle whose index and shard are mutated.
    archive      ``safe_extract`` (then ``read_checkpoint``) on a mutated ``.tar.gz``.
    htconfig     ``HTDemucsConfig.from_json`` on mutated JSON.
    thfile       ``read_demucs_checkpoint`` on a mutated demucs ``.th`` file (torch's
                 restricted unpickler plus our allow-list; needs a larger memory limit).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stemsplit.core.errors import ModelError

HUGE = [b"\xff" * 4, b"\xff" * 8, b"\xff" * 9 + b"\x01", b"\x80" * 10, b"\x00" * 8,
        b"\x7f\xff\xff\xff", b"\xfe\xff\xff\xff\x0f", b"\x80\x80\x80\x80\x08"]

OPS = st.lists(st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 32), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 32)),
    st.tuples(st.just("huge"), st.integers(0, 1 << 32), st.sampled_from(HUGE)),
    st.tuples(st.just("repeat"), st.integers(0, 1 << 32), st.integers(1, 64),
              st.integers(2, 200)),
    st.tuples(st.just("tail"), st.integers(1, 64), st.integers(1, 255)),
), min_size=1, max_size=6)


def mutate(data: bytes, ops) -> bytes:
    """Apply byte-level mutations; positions wrap around the current length."""
    buf = bytearray(data)
    for op in ops:
        if not buf:
            break
        kind = op[0]
        if kind == "flip":
            buf[op[1] % len(buf)] ^= op[2]
        elif kind == "truncate":
            del buf[op[1] % len(buf):]
        elif kind == "huge":
            at = op[1] % len(buf)
            buf[at:at + len(op[2])] = op[2]
        elif kind == "repeat":
            at = op[1] % len(buf)
            buf[at:at] = bytes(buf[at:at + op[2]]) * op[3]
        else:  # flip a byte near the end: footers, trailers, restart counts
            buf[-(op[1] % len(buf)) - 1] ^= op[2]
    return bytes(buf)


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-(10 ** 30), 10 ** 30),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
              st.sampled_from([1e308, -1e308, 2 ** 63, -(2 ** 63) - 1, 10 ** 400, 0, -1])),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8)


def _expect_model_error(fn) -> None:
    try:
        fn()
    except ModelError:
        pass


def run(target: str, seed: Path, work: Path, examples: int) -> None:
    from stemsplit.core.models.archives import ArchiveLimits, safe_extract
    from stemsplit.core.models.spleeter.tf_checkpoint import read_checkpoint, read_index

    fuzz = settings(max_examples=examples, deadline=10_000, database=None,
                    suppress_health_check=list(HealthCheck), derandomize=examples <= 1000)
    work.mkdir(parents=True, exist_ok=True)

    if target == "index":
        valid = seed.read_bytes()

        @fuzz
        @given(OPS)
        def check(ops) -> None:
            path = work / "model.index"
            path.write_bytes(mutate(valid, ops))
            _expect_model_error(lambda: read_index(path))

    elif target == "checkpoint":
        index = (seed / "model.index").read_bytes()
        shard = (seed / "model.data-00000-of-00001").read_bytes()

        @fuzz
        @given(OPS, st.booleans(), st.booleans())
        def check(ops, in_index, in_shard) -> None:
            (work / "model.index").write_bytes(mutate(index, ops) if in_index or not in_shard
                                               else index)
            (work / "model.data-00000-of-00001").write_bytes(mutate(shard, ops) if in_shard
                                                             else shard)
            _expect_model_error(lambda: read_checkpoint(work / "model", max_shard_bytes=1 << 20))
            _expect_model_error(lambda: read_checkpoint(work / "model", skip_optimizer=False))

    elif target == "archive":
        valid = seed.read_bytes()
        limits = ArchiveLimits(member_bytes=8 << 20, total_bytes=16 << 20,
                               slack_bytes=4 << 20, small_members={".index": 1 << 20})

        @fuzz
        @given(OPS)
        def check(ops) -> None:
            archive = work / "m.tar.gz"
            archive.write_bytes(mutate(valid, ops))
            out = work / "out"
            shutil.rmtree(out, ignore_errors=True)
            try:
                safe_extract(archive, out, limits)
            except ModelError:
                return
            if (out / "model.index").is_file():
                _expect_model_error(lambda: read_checkpoint(out / "model", max_shard_bytes=8 << 20))

    elif target == "htconfig":
        from stemsplit.core.models.htdemucs.config import HTDemucsConfig

        valid = json.loads(seed.read_text())
        keys = sorted(valid)

        @fuzz
        @given(st.dictionaries(st.sampled_from(keys + ["x", ""]), JSON_VALUES, max_size=4),
               st.integers(0, 3), OPS)
        def check(changes, form, ops) -> None:
            data = {**valid, **changes}
            text = json.dumps(data)
            if form == 1:
                text = "[" * 50_000 + text + "]" * 50_000
            elif form == 2:
                text = mutate(text.encode(), ops).decode("utf-8", "replace")
            _expect_model_error(lambda: HTDemucsConfig.from_json(text))

    elif target == "thfile":
        from stemsplit.core.models.htdemucs.checkpoint import read_demucs_checkpoint

        valid = seed.read_bytes()

        @fuzz
        @given(OPS)
        def check(ops) -> None:
            path = work / "abcdef12-00000000.th"
            path.write_bytes(mutate(valid, ops))
            _expect_model_error(lambda: read_demucs_checkpoint(path))

    else:
        raise SystemExit(f"unknown target {target!r}")
    check()


if __name__ == "__main__":
    target, seed, work, examples = sys.argv[1:5]
    run(target, Path(seed), Path(work), int(examples))
    print(f"fuzz {target}: {examples} examples, only ModelError")
