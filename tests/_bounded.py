"""Run a reader in a child process under a memory (address-space) and time bound.

A hostile file that makes a reader allocate gigabytes must fail the test, not take
the machine (or the other tests) down with it. The one harness of every fuzz and
hostile-input test:

- :func:`run_bounded`: code in a child that imports what it needs first; the limit
  is then its address space at that point plus ``budget_mb``, so torch's and
  numpy's own reservations do not count against the reader.
- :func:`run_module_bounded`: ``python -m MODULE`` under a fixed address-space limit
  from its first instruction.
- :func:`time_bound`: inside a child, one example's time limit (SIGALRM), so a reader
  that spins fails that example with its input instead of timing out the whole run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout_s, env=_env(env), cwd=ROOT)


def _env(env: dict | None) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env or {})}


def run_module_bounded(module: str, *args: str, limit_bytes: int, timeout_s: float,
                       env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m module args`` with its address space capped at ``limit_bytes``
    (RLIMIT_AS, set before the child's first instruction); output captured as text."""
    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          timeout=timeout_s, env=_env(env), cwd=ROOT, preexec_fn=limit)


class Slow(BaseException):
    """One example ran past its time bound (a BaseException: a reader's ``except
    Exception`` cannot swallow it)."""


@contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    """Fail the block (``Slow``, then an AssertionError) when it runs past ``seconds``.
    POSIX only (SIGALRM); for the fuzz children."""
    def alarm(*_) -> None:
        raise Slow(f"past {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    t0 = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - t0 < seconds
