"""note_name: the nearest equal-tempered note and the offset in cents."""

import pytest

from stemsplit.gui.spectrogram.notes import note_name


@pytest.mark.parametrize(("hz", "name"), [
    (440.0, "A4 +0c"), (261.6256, "C4 +0c"), (27.5, "A0 +0c"), (4186.009, "C8 +0c"),
    (450.0, "A4 +39c"), (430.0, "A4 -40c"), (466.1638, "A#4 +0c"), (246.9417, "B3 +0c"),
    (16.3516, "C0 +0c"), (8.1758, "C-1 +0c"), (20000.0, "D#10 +8c"),
])
def test_note_names(hz, name):
    assert note_name(hz) == name


def test_no_name_for_nonsense():
    assert note_name(0.0) == "" and note_name(-5) == "" and note_name(float("nan")) == ""
    assert note_name(float("inf")) == ""
