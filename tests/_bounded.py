"""Run a reader in a child process under a memory (address-space) and time bound.

A hostile file that makes a reader allocate gigabytes must fail the test, not take
the machine (or the other tests) down with it. The child imports what it needs
first; the limit is then its address space at that point plus ``budget_mb``, so
torch's and numpy's own reservations do not count against the reader.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LIMIT = """
import resource as _resource
def _vm_bytes():
    with open("/proc/self/status") as _f:
        return next(int(l.split()[1]) * 1024 for l in _f if l.startswith("VmSize:"))
_resource.setrlimit(_resource.RLIMIT_AS, (_vm_bytes() + {budget} * 2**20, _resource.RLIM_INFINITY))
"""


def run_bounded(setup: str, body: str, *, budget_mb: int = 400, timeout_s: float = 120,
                env: dict | None = None, args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run ``setup`` (imports), then ``body`` under the memory limit; returns the result.

    The child's stdout and stderr are captured as text. A child that runs out of time
    raises ``subprocess.TimeoutExpired`` (killed first).
    """
    code = "\n".join([textwrap.dedent(setup), LIMIT.format(budget=int(budget_mb)),
                      textwrap.dedent(body)])
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout_s, env=full_env, cwd=ROOT)
