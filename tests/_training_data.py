"""Short real tracks for training tests: the MUSDB excerpt (stempeg) cut in three."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf


def write_musdb_tracks(root: Path, n: int = 3) -> Path:
    """``root/track i/{mixture,vocals,accompaniment}.wav`` (~2.3 s each); returns ``root``."""
    from benchmarks.musdb import load_musdb_excerpt

    truth, rate = load_musdb_excerpt()
    part = truth["mixture"].shape[1] // n
    for i in range(n):
        folder = root / f"track {i}"
        folder.mkdir(parents=True)
        cut = slice(i * part, (i + 1) * part)
        for stem in ("mixture", "vocals", "accompaniment"):
            sf.write(folder / f"{stem}.wav", truth[stem][:, cut].T, rate, subtype="FLOAT")
    return root
