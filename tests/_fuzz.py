"""Shared pieces of the readers' fuzz tests (hypothesis, run in a bounded child process).

Each fuzz test runs its whole hypothesis search in a child under an address-space
limit (``tests._bounded``) and a time limit, so a mutated file that makes a reader
allocate gigabytes or spin fails the test instead of taking the machine down. The
number of examples is ``STEMSPLIT_FUZZ_EXAMPLES`` (default :data:`DEFAULT_EXAMPLES`).
"""

from __future__ import annotations

import json
import os
from typing import Any

DEFAULT_EXAMPLES = 200
PER_EXAMPLE_S = 10.0   # one damaged file read (and its edits replayed) within this


def examples(default: int = DEFAULT_EXAMPLES) -> int:
    """Examples per reader: ``STEMSPLIT_FUZZ_EXAMPLES``, else ``default``."""
    return int(os.environ.get("STEMSPLIT_FUZZ_EXAMPLES") or default)


def child_timeout(n: int) -> float:
    return 90.0 + n * 1.0


class Raw(str):
    """JSON text put into a document as it is (what json.dumps cannot write)."""


def nasty_values():
    """Values of every wrong type: huge and non-finite numbers, odd text, deep nesting."""
    from hypothesis import strategies as st

    leaves = st.one_of(
        st.none(), st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from([0, -1, 1, 2**31, 2**63, 10**18, 10**30]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([1e308, -1e308, 1.7e308, 5e-324, -0.0]),
        st.text(max_size=12),
        st.sampled_from(["", "\x00", "a\x00b", "\ud800", "\x1b]0;pwned\x07", "..", "/etc/shadow",
                         "x" * 5000]),
        st.sampled_from([Raw("1" + "0" * 5000), Raw("1e400"), Raw("-1e400"), Raw("NaN"),
                         Raw("Infinity"), Raw("[" * 30_000 + "]" * 30_000),
                         Raw("{\"a\":" * 5000 + "1" + "}" * 5000)]),
    )
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
        max_leaves=8)


def to_json(value: Any) -> str:
    """``value`` as JSON text, :class:`Raw` parts included as they are."""
    raws: list[str] = []

    def swap(v: Any) -> Any:
        if isinstance(v, Raw):
            raws.append(str(v))
            return f"__RAW_{len(raws) - 1}__"
        if isinstance(v, list):
            return [swap(x) for x in v]
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        return v

    text = json.dumps(swap(value), ensure_ascii=True)
    for i, raw in enumerate(raws):
        text = text.replace(f'"__RAW_{i}__"', raw)
    return text


def paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key / index path in a JSON document (the places a value can be replaced)."""
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:6]):
            out += paths(v, (*prefix, i))
    return out


def replaced(doc: Any, path: tuple, value: Any) -> str:
    """The document's JSON text with the value at ``path`` replaced (or the key dropped
    when ``value`` is the string "__DROP__")."""
    import copy

    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value == "__DROP__":
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return to_json(doc)


def mutate(data: bytes, flips: list[tuple[int, int]], cut: int | None) -> bytes:
    """Byte flips (position modulo the length, XOR mask) and an optional truncation."""
    b = bytearray(data)
    for pos, mask in flips:
        if b:
            b[pos % len(b)] ^= mask
    if cut is not None:
        b = b[: cut % (len(b) + 1)]
    return bytes(b)
