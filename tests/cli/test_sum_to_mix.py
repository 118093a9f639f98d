"""What the README says about stems summing back to the mix holds per format (issue 22, item 14).

Peaks of ``sum(stems read back) - mix``: 32-bit float -152 dBFS, 24 bit -137.5 dBFS
(the claim was "below -140 dB", which one 24-bit step, -138.5 dBFS, cannot meet),
16 bit dithered -82 dBFS.
"""

from __future__ import annotations

import pytest

from benchmarks.sum_to_mix import measure


@pytest.mark.slow
def test_each_formats_residual_is_what_the_readme_says():
    rows = {name: (peak, rms) for name, peak, rms, _ in measure(seconds=3.0)}
    assert rows["WAV 32-bit float"][0] < -148
    for name in ("WAV 24-bit", "FLAC 24-bit"):
        peak, rms = rows[name]
        assert -139.5 < peak < -136.0 and rms < -144  # about one 24-bit step, never less
    for name in ("WAV 16-bit", "FLAC 16-bit"):
        peak, rms = rows[name]
        assert -86 < peak < -78 and -95 < rms < -91  # dither: +-1 LSB TPDF plus rounding
