"""Note names for frequencies (equal temperament, A4 = 440 Hz); pure, no Qt."""

from __future__ import annotations

import math

NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(hz: float, a4: float = 440.0) -> str:
    """The nearest note and the offset from it in cents.

    440 -> "A4 +0c", 261.63 -> "C4 +0c", 450 -> "A4 +39c", 27.5 -> "A0 +0c".
    Octaves change at C, as in scientific pitch notation (MIDI 60 = C4).
    Returns "" for frequencies that are not positive and finite.
    """
    if not (hz > 0 and math.isfinite(hz)):
        return ""
    midi = 69 + 12 * math.log2(hz / a4)
    nearest = round(midi)
    cents = round(100 * (midi - nearest))
    octave = nearest // 12 - 1
    return f"{NAMES[nearest % 12]}{octave} {cents:+d}c"
