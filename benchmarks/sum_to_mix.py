"""How closely a song's written stems sum back to the mix, per output format.

The engine's stems sum to the mix exactly in float; what is left after writing
is each format's quantisation: one rounding per stem at 24 bit, TPDF dither plus
rounding at 16 bit, float32 rounding at 32-bit float. Run through the same path
as `stemsplit separate` (the streaming writer) on the demo song, read the files
back, and print the residual ``sum(stems) - mix`` per format: its peak and RMS in
dBFS, and its energy relative to the mix's.

    PYTHONPATH=. python benchmarks/sum_to_mix.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

GAIN = 0.5  # -6 dB
FORMATS = [("wav", "32f"), ("wav", "24"), ("flac", "24"), ("wav", "16"), ("flac", "16")]


def db(x: float) -> float:
    return float(20 * np.log10(max(x, 1e-30)))


def measure(seconds: float | None = None) -> list[tuple[str, float, float, float]]:
    """(format, residual peak dBFS, residual RMS dBFS, residual energy / mix energy dB)."""
    from stemsplit.cli.export import ExportOptions, StemStreamWriter
    from stemsplit.core.audio.read import load_audio
    from stemsplit.core.audio.write import OutputFormat
    from stemsplit.core.models.registry import load_separator
    from stemsplit.core.models.spleeter.weights import demo_song_path

    audio = load_audio(demo_song_path())
    mix = audio.samples if seconds is None else audio.samples[:, : int(seconds * 44100)]
    mix = mix * np.float32(GAIN)  # the decoded MP3 peaks above full scale: keep clipping out
    separator = load_separator(device="cpu")
    stems = separator.separate(mix, audio.sample_rate)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, depth in FORMATS:
            of = OutputFormat(fmt, depth)
            outputs = {s: Path(tmp) / f"{s}-{depth}.{of.extension}" for s in stems.stems}
            writer = StemStreamWriter(outputs, audio.sample_rate, mix.shape[0], mix.shape[1],
                                      ExportOptions(of), overwrite=True)
            writer.write(stems.stems)
            writer.commit()
            total = sum(sf.read(p, dtype="float64", always_2d=True)[0].T for p in outputs.values())
            residual = total - mix.astype(np.float64)
            energy = np.sum(mix.astype(np.float64) ** 2)
            rows.append((of.describe(), db(np.abs(residual).max()),
                         db(np.sqrt(np.mean(residual ** 2))),
                         float(10 * np.log10(np.sum(residual ** 2) / energy))))
    return rows


def main() -> None:
    print("stems summed back against the mix (demo song at -6 dB, 10.9 s, 2 stems):")
    print(f"{'format':<22}{'peak dBFS':>11}{'RMS dBFS':>11}{'vs mix dB':>11}")
    for name, peak, rms, rel in measure():
        print(f"{name:<22}{peak:>11.1f}{rms:>11.1f}{rel:>11.1f}")


if __name__ == "__main__":
    main()
