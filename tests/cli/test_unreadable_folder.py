"""`stemsplit separate` on a folder with a subfolder it may not read (issue 22, item 13):
the subfolder is named in a warning, not skipped without a word, and the batch goes on.

Root reads every folder whatever its mode, so the batch runs as uid/gid 65534
(nobody) in a forked child (this Python lives under /root, which nobody cannot
enter: everything the run needs is imported before the fork).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests._as_nobody import run_as_nobody


def _separate_as_nobody(args: list[str], warm_up: list[str]) -> dict:
    """``main(args)`` as nobody, after ``main(warm_up)`` as root has imported what it needs."""
    from stemsplit.cli.main import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(warm_up)
    def run() -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
        return code, out.getvalue(), err.getvalue()
    return run_as_nobody(run)


@pytest.mark.skipif(not hasattr(os, "fork") or os.geteuid() != 0,
                    reason="needs root and fork to run the batch as another user")
def test_an_unreadable_subfolder_is_named_and_the_batch_goes_on():
    base = Path(tempfile.mkdtemp(prefix="stemsplit-unreadable-"))  # pytest's tmp is 0700
    try:
        os.chmod(base, 0o755)
        songs = base / "songs"
        locked = songs / "locked"
        locked.mkdir(parents=True)
        (locked / "hidden.wav").write_bytes(b"RIFF")
        (songs / "open").mkdir()
        (songs / "open" / "empty.wav").write_bytes(b"")    # read, and refused for itself
        os.chmod(songs, 0o755)
        os.chmod(songs / "open", 0o755)
        os.chmod(locked, 0o700)                             # root's own: nobody may not list it
        out = base / "out"
        out.mkdir(mode=0o777)
        os.chmod(out, 0o777)
        report = _separate_as_nobody(["separate", str(songs), "-o", str(out)],
                                     ["separate", str(songs / "open"), "-o", str(base / "warm")])
        err = report["err"]
        assert report["code"] != -1, err
        assert f"warning: {locked}: skipped, the folder cannot be read (Permission denied)" \
            in err, err
        assert f"{songs / 'open' / 'empty.wav'}:" in err    # the batch went on to the next file
        assert "hidden.wav" not in err and "Traceback" not in err
    finally:
        shutil.rmtree(base)
