"""The fuzz tests' harness (tests/_bounded.py) bounds what it promises to bound."""

from __future__ import annotations

import sys
import time

import pytest

from tests._bounded import Slow, run_bounded, run_module_bounded, time_bound

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGALRM and RLIMIT_AS")


def test_a_spinning_example_is_stopped_at_its_bound():
    t0 = time.monotonic()
    with pytest.raises(Slow), time_bound(0.2):
        while True:
            pass
    assert time.monotonic() - t0 < 2
    with time_bound(5):  # a quick block passes, and the alarm is disarmed after it
        pass
    time.sleep(0.3)


def test_a_reader_that_allocates_past_its_budget_fails_with_memory_error():
    run = run_bounded("import numpy as np", "x = np.ones(2**30, np.uint8)", budget_mb=200)
    assert run.returncode != 0 and "MemoryError" in run.stderr
    run = run_bounded("import numpy as np", "x = np.ones(2**20, np.uint8); print('ok')",
                      budget_mb=200)
    assert run.stdout.strip() == "ok", run.stderr


def test_a_module_runs_under_its_address_space_limit():
    run = run_module_bounded("json.tool", "--help", limit_bytes=1 << 30, timeout_s=60)
    assert run.returncode == 0 and "json" in run.stdout
    run = run_module_bounded("json.tool", "--help", limit_bytes=8 << 20, timeout_s=60)
    assert run.returncode != 0
