"""The command line's own stdout and stderr: they never raise and never print raw control codes.

A user may pipe the output into ``true`` or ``head``, send it to ``/dev/full``,
close stderr (``2>&-``) or run with an encoding that cannot show a song's name
(``PYTHONIOENCODING=latin-1``, a C locale). None of that may fail a song whose
stems were written, nor end a command with a traceback: a stream that cannot be
written is dropped (its file descriptor pointed at the null device so that
Python's own flush at exit stays quiet), text it cannot encode is written with
backslash escapes, and control characters other than line ends are escaped so
that no file name can drive the terminal.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from typing import TextIO

# C0 controls except \t \n \r, DEL and C1 (0x9b is a one-byte CSI on some terminals).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class GuardedStream:
    """A text stream that swallows its own failures (see the module docstring)."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        self.broken = stream is None

    def write(self, text: str) -> int:
        if self.broken or not text:
            return len(text)
        safe = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
        try:
            self._stream.write(safe)
        except UnicodeEncodeError:
            encoding = getattr(self._stream, "encoding", None) or "ascii"
            try:
                self._stream.write(safe.encode(encoding, "backslashreplace").decode(encoding))
            except (OSError, ValueError, UnicodeError):
                self._drop()
        except (OSError, ValueError):  # EPIPE, ENOSPC, EBADF, or closed
            self._drop()
        return len(text)

    def flush(self) -> None:
        if self.broken:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError):
            self._drop()

    def isatty(self) -> bool:
        try:
            return not self.broken and self._stream.isatty()
        except (OSError, ValueError, AttributeError):
            return False

    def _drop(self) -> None:
        self.broken = True
        with contextlib.suppress(OSError, ValueError, AttributeError):
            fd = self._stream.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)
            self._stream.flush()  # what was buffered now goes to the null device

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _fill_closed_descriptors() -> None:
    """Point closed descriptors 0-2 at the null device: else the next file opened gets
    number 2, and C libraries that print to "stderr" would write into a user's stem."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            with contextlib.suppress(OSError):
                new = os.open(os.devnull, os.O_RDWR)
                if new != fd:
                    os.dup2(new, fd)
                    os.close(new)


@contextlib.contextmanager
def guarded_output() -> Iterator[None]:
    """Within the block, ``sys.stdout`` and ``sys.stderr`` are :class:`GuardedStream`\\ s."""
    _fill_closed_descriptors()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = GuardedStream(saved[0]), GuardedStream(saved[1])
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = saved
