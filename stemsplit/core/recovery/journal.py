"""The edit journal: one line per change of the edit list, replayed to the same list.

A line is ``{"keep": k, "add": [edit, ...]}``: the list after the change is the
first ``k`` edits of the list before it, then ``add``. Every change the editor
makes (an edit, undo, redo, a clear) is such a line, and replaying the final
list on the base stems gives the edited stems bit for bit (the editor's state
is always "base stems + its edit list, applied in order").
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from stemsplit.core.editing.edits import Edit

MAX_LINE_BYTES = 8 << 20  # one clear can re-add many edits; far past that is not ours


class JournalError(ValueError):
    """The journal cannot be read back (the message says where)."""


def diff(before: Sequence[Edit], after: Sequence[Edit]) -> dict | None:
    """The line that turns ``before`` into ``after``; None when they are the same."""
    k = 0
    for a, b in zip(before, after, strict=False):
        if a is not b and a.to_json() != b.to_json():
            break
        k += 1
    if k == len(before) == len(after):
        return None
    return {"keep": k, "add": [e.to_json() for e in after[k:]]}


def append(path: Path, line: dict) -> None:
    """Append one line and make it durable (flush and fsync) before returning."""
    data = (json.dumps(line, separators=(",", ":"), allow_nan=False) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def replay(path: Path, edits: Sequence[Edit] = ()) -> list[Edit]:
    """The edit list after every whole line of the journal, starting from ``edits``.

    A last line without its newline (the process died while writing it) is ignored.

    Raises:
        JournalError: a complete line is not a journal line.
    """
    current = list(edits)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return current
    except OSError as e:
        raise JournalError(f"the edit journal cannot be read ({e.strerror or e})") from e
    lines = raw.split(b"\n")
    for number, text in enumerate(lines[:-1], 1):  # lines[-1]: empty, or a torn line
        if not text.strip():
            continue
        try:
            if len(text) > MAX_LINE_BYTES:
                raise ValueError("line too long")
            line = json.loads(text)
            keep, add = int(line["keep"]), [Edit.from_json(e) for e in line["add"]]
            if not 0 <= keep <= len(current):
                raise ValueError(f"keeps {keep} of {len(current)} edits")
        except (ValueError, KeyError, TypeError, RecursionError) as e:
            raise JournalError(f"line {number} of the edit journal is damaged ({e})") from e
        current = current[:keep] + add
    return current
