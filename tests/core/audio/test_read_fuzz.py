"""Property-based fuzzing of the audio reader (issue 22): only AudioLoadError, bounded memory.

The fuzzing runs in a subprocess under an address-space limit (see
``fuzz_read.py``); a few hundred examples in CI, more with
``STEMSPLIT_FUZZ_EXAMPLES``.
"""

from __future__ import annotations

import pytest

from tests._bounded import run_module_bounded
from tests.core.audio.fuzz_read import AS_LIMIT


@pytest.mark.slow
def test_mutated_wav_flac_and_mp3_raise_only_audio_load_error(tmp_path):
    proc = run_module_bounded("tests.core.audio.fuzz_read", str(tmp_path), limit_bytes=AS_LIMIT,
                              timeout_s=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "FUZZ OK" in proc.stdout
    assert "libmpg123" not in proc.stderr  # its own complaints stay off the terminal
