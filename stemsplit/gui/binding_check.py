"""Refuse to run on a Qt binding that leaks references to None.

PySide6/shiboken6 6.12.0 on Python 3.11 drops one reference to ``None`` on every
call of a C++ method that returns void (``painter.setPen``, ``widget.update``, ...)
and on every call of a Python override of a C++ paint method. The playhead timer
repaints all the time, so ``None``'s count reaches zero and the window aborts
("Fatal Python error: none_dealloc: deallocating None") after ~35 s of playback.
pyproject.toml keeps that release out; this check catches an installation that
got it anyway (an explicit upgrade, another environment) by measuring the leak
rather than trusting a list of versions. On Python 3.12+ ``None`` is immortal:
its count never moves, so the check always passes there.
"""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QObject

_PROBE_CALLS = 200  # each leaked reference is one None can't spare


def void_calls_leak_none() -> bool:
    """Whether calling a void C++ method drops a reference to None (well under 1 ms)."""
    obj = QObject()
    was_enabled = gc.isenabled()
    gc.disable()  # a collection freeing objects that hold None would look like a leak
    try:
        before = sys.getrefcount(None)
        for _ in range(_PROBE_CALLS):
            obj.setObjectName("probe")  # a void C++ method
        lost = before - sys.getrefcount(None)
    finally:
        if was_enabled:
            gc.enable()
    return lost >= _PROBE_CALLS // 2  # a leaky binding loses one per call


def binding_problem() -> str | None:
    """A message for the user if this Qt binding would crash the window, else None."""
    if not void_calls_leak_none():
        return None
    import PySide6
    import shiboken6

    return (f"PySide6 {PySide6.__version__} (shiboken6 {shiboken6.__version__}) on Python "
            f"{sys.version.split()[0]} leaks references to None, which crashes the window "
            "within a minute of playback. Install a release without the bug: "
            "pip install 'PySide6-Essentials<6.12' (or run stemsplit on Python 3.12 or newer).")
