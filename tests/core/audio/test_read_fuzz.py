"""Property-based fuzzing of the audio reader (issue 22): only AudioLoadError, bounded memory.

The fuzzing runs in a subprocess under an address-space limit (see
``fuzz_read.py``); a few hundred examples in CI, more with
``STEMSPLIT_FUZZ_EXAMPLES``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_mutated_wav_flac_and_mp3_raise_only_audio_load_error(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "tests.core.audio.fuzz_read", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "FUZZ OK" in proc.stdout
    assert "libmpg123" not in proc.stderr  # its own complaints stay off the terminal
