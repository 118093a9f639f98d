"""`stemsplit models` error paths a hostile system produces (issue 22, items 22 and 26).

A read-only model store and a signal during an install from a file each end
in one sentence and the right exit code, never a traceback or a false promise.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from stemsplit.core.models import store as model_store
from tests._as_nobody import run_as_nobody


def _run_as_another_user(action: str, name: str) -> dict:
    """``models ACTION NAME`` in a forked child that cannot write the store (uid nobody
    when we are root, who may write anything; the store's folders are 0555 as well)."""
    import stemsplit.core.models.htdemucs.store  # noqa: F401 (nobody cannot read the stdlib
    from stemsplit.cli.models import run_models  # of a root-owned Python: import it all now)
    from stemsplit.core.models import install as model_install
    from stemsplit.core.models.registry import get_model

    get_model(name)
    model_install.needs_licence_acceptance(name)
    def run() -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = run_models(argparse.Namespace(action=action, name=name), out, err)
        return code, out.getvalue(), err.getvalue()
    return run_as_nobody(run)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork to drop privileges")
def test_remove_on_a_read_only_store_says_so(monkeypatch):
    home = Path(tempfile.mkdtemp(prefix="stemsplit-ro-"))  # pytest's tmp is 0700: untraversable
    try:
        os.chmod(home, 0o755)
        monkeypatch.setenv("STEMSPLIT_HOME", str(home))
        weights = model_store.weights_path("4stems")
        weights.parent.mkdir(parents=True)
        weights.write_bytes(b"weights")
        for folder in (weights.parent, model_store.models_dir()):
            os.chmod(folder, 0o555)
        report = _run_as_another_user("remove", "4stems")
        assert report["code"] == 2, report
        assert report["err"].startswith(f"error: cannot remove {model_store.model_dir('4stems')}")
        assert "Traceback" not in report["err"] and "Errno" not in report["err"]
        assert report["err"].count("\n") == 1  # one sentence
        assert weights.read_bytes() == b"weights"
    finally:
        for folder in home.rglob("*"):
            if folder.is_dir():
                os.chmod(folder, 0o755)
        shutil.rmtree(home)


@pytest.mark.slow
def test_sigterm_during_an_install_from_a_file_promises_no_resume(tmp_path):
    big = tmp_path / "4stems.tar.gz"
    with open(big, "wb") as fh:  # sparse: seconds of checksum, no disk
        fh.truncate(model_store.archive_limits("4stems").total_bytes - (1 << 20))
    proc = subprocess.Popen([sys.executable, "-m", "stemsplit", "models", "install", "4stems",
                             "--from", str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        line = ""
        while "verify" not in line:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            line = proc.stderr.readline()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    if proc.returncode == 2 and "is not the published 4stems archive" in err:
        pytest.skip("the checksum finished before the signal landed (a very fast disk)")
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "terminated (SIGTERM); nothing was installed" in err
    assert "resumes the download" not in err
    assert "Traceback" not in err
    assert not model_store.is_installed("4stems")
