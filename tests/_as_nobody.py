"""Run a function in a forked child as uid/gid 65534 (nobody) and get its report back.

Root may read and write anything, so tests of "cannot read" / "cannot write" drop
privileges in a child. Everything the function needs must be imported before the
call: nobody cannot read the stdlib of a Python that lives under /root.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

NOBODY = 65534


def run_as_nobody(fn: Callable[[], tuple[int, str, str]]) -> dict:
    """``fn()`` -> (code, out, err) in a child as nobody (when we are root); returns
    ``{"code", "out", "err"}`` (code -1 and the exception when ``fn`` raised)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running pytest's teardown
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            code, out, err = fn()
            report = {"code": code, "out": out, "err": err}
        except BaseException as exc:  # noqa: BLE001 (reported to the parent)
            report = {"code": -1, "out": "", "err": f"{type(exc).__name__}: {exc}"}
        os.write(write, json.dumps(report).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    return json.loads(data)
