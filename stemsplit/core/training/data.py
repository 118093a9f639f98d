"""Training data: tracks with stems, held in memory at 44.1 kHz stereo, and random windows.

Tracks come from ``evaluation.datasets.find_tracks`` (MUSDB18 .stem.mp4,
MUSDB18-HQ folders, mix + stem files). Each training example is a window of
``frames`` STFT frames; with augmentation each stem is drawn from a random
track at a random place, scaled by a random gain and maybe channel-swapped,
and the mixture is the sum of what was drawn (Uhlich et al. 2017), so the
network meets mixes nobody recorded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from stemsplit.core.errors import DatasetError
from stemsplit.core.evaluation.datasets import find_tracks

RATE = 44100
HOP = 1024
GAIN_RANGE = (0.25, 1.25)  # Uhlich et al.'s per-source random gain
REST = "_rest"             # what the asked-for stems leave of the mixture


@dataclass(frozen=True)
class TrainingTrack:
    """One track: ``sources`` (stem -> ``(2, N)`` float32, the asked-for stems and the
    rest of the mix) sum to the mixture."""

    name: str
    sources: dict[str, np.ndarray]

    @property
    def length(self) -> int:
        return next(iter(self.sources.values())).shape[-1]

    def mixture(self) -> np.ndarray:
        return np.sum(np.stack(list(self.sources.values())), axis=0)


def window_samples(frames: int) -> int:
    """Samples whose centred STFT (hop 1024) has exactly ``frames`` frames."""
    return HOP * (frames - 1)


def load_tracks(folders: list[Path], stems: tuple[str, ...], min_samples: int
                ) -> list[TrainingTrack]:
    """Every track under ``folders`` with the ``stems`` asked for, checked and resampled.

    Raises:
        DatasetError: no tracks, a track without one of the stems, files that disagree
            (the message names the track and the file), or more data than memory.
    """
    found = []
    for folder in folders:
        if not Path(folder).is_dir():
            raise DatasetError(f"{folder} is not a folder of tracks")
        found += find_tracks(folder)
    if not found:
        raise DatasetError(f"no tracks with stems found in {', '.join(map(str, folders))}: "
                           "expected <track>.stem.mp4 files, MUSDB18-HQ folders (mixture.wav, "
                           "vocals.wav, ...) or folders holding a mix and one file per stem")
    _check_memory(found)
    tracks = []
    for track in found:
        audio = track.load(stems)  # DatasetError names the track and the file
        rest = audio.mixture - sum(audio.references[s] for s in stems)
        sources = {s: _prepare(audio.references[s], audio.sample_rate, min_samples)
                   for s in stems}
        sources[REST] = _prepare(rest, audio.sample_rate, min_samples)
        tracks.append(TrainingTrack(track.name, sources))
    return tracks


def _prepare(x: np.ndarray, rate: int, min_samples: int) -> np.ndarray:
    """``(C, N)`` -> ``(2, >= min_samples)`` float32 at 44.1 kHz (mono as dual-mono)."""
    if x.shape[0] == 1:
        x = np.repeat(x, 2, axis=0)
    elif x.shape[0] != 2:
        raise DatasetError(f"training needs mono or stereo stems, not {x.shape[0]} channels")
    if rate != RATE:
        x = soxr.resample(x.T, rate, RATE, quality="HQ").T
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.shape[1] < min_samples:  # a short track still gives whole windows
        x = np.pad(x, ((0, 0), (0, min_samples - x.shape[1])))
    return x


def _check_memory(tracks) -> None:
    """Refuse, before decoding, data that could not fit in memory with room to train."""
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return  # no way to know (Windows): decode and see
    total = 0
    for track in tracks:
        paths = [track.path] if track.layout == "musdb" else [p for _, p in track.files]
        total += sum(p.stat().st_size for p in paths if p.is_file())
    # decoded float32 stereo is ~5-10x a compressed file; WAV sizes are near 2x
    estimate = total * (10 if any(t.layout == "musdb" for t in tracks) else 2)
    if estimate > physical // 2:
        raise DatasetError(f"the training data would take about {estimate / 1e9:.1f} GB in "
                           f"memory, more than half of this machine's "
                           f"{physical / 1e9:.1f} GB; train on fewer tracks")


def split_validation(tracks: list[TrainingTrack], fraction: float, seed: int
                     ) -> tuple[list[TrainingTrack], list[TrainingTrack]]:
    """Hold out ``fraction`` of the tracks (at least one, never all), chosen by ``seed``."""
    if not 0 < fraction < 1:
        raise DatasetError("the validation fraction must be between 0 and 1")
    if len(tracks) < 2:
        raise DatasetError("holding tracks out for validation needs at least two tracks; "
                           "pass --valid with a folder of other tracks instead")
    n_valid = min(len(tracks) - 1, max(1, int(round(fraction * len(tracks)))))
    order = np.random.default_rng(seed).permutation(len(tracks))
    held = set(order[:n_valid].tolist())
    return ([t for i, t in enumerate(tracks) if i not in held],
            [t for i, t in enumerate(tracks) if i in held])


class WindowSampler:
    """Random training windows, reproducible from the generator's state."""

    def __init__(self, tracks: list[TrainingTrack], stems: tuple[str, ...], frames: int,
                 augment: bool, rng: np.random.Generator) -> None:
        self.tracks, self.stems, self.augment, self.rng = tracks, stems, augment, rng
        self.length = window_samples(frames)

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """``(B, 2, L)`` mixtures and ``(S, B, 2, L)`` targets."""
        mixes, targets = [], []
        for _ in range(size):
            parts = self._example()
            targets.append(np.stack([parts[s] for s in self.stems]))
            mixes.append(np.sum(np.stack(list(parts.values())), axis=0))
        return np.stack(mixes), np.stack(targets, axis=1)

    def _example(self) -> dict[str, np.ndarray]:
        rng = self.rng
        own = self.tracks[rng.integers(len(self.tracks))]
        own_start = int(rng.integers(own.length - self.length + 1))
        parts = {}
        for name in (*self.stems, REST):
            track, start = own, own_start  # unaugmented: a piece of a real mix
            if self.augment:
                track = self.tracks[rng.integers(len(self.tracks))]
                start = int(rng.integers(track.length - self.length + 1))
            x = track.sources[name][:, start: start + self.length]
            if self.augment:
                x = x * np.float32(rng.uniform(*GAIN_RANGE))
                if rng.random() < 0.5:
                    x = x[::-1]
            parts[name] = np.ascontiguousarray(x, dtype=np.float32)
        return parts


def fixed_windows(tracks: list[TrainingTrack], stems: tuple[str, ...], frames: int,
                  per_track: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Evenly spaced windows of each track, unaugmented: a validation loss that only
    moves when the model does."""
    length = window_samples(frames)
    mixes, targets = [], []
    for track in tracks:
        last = track.length - length
        mixture = track.mixture()
        for start in np.linspace(0, last, per_track).astype(int):
            mixes.append(mixture[:, start: start + length])
            targets.append(np.stack([track.sources[s][:, start: start + length]
                                     for s in stems]))
    return np.stack(mixes), np.stack(targets, axis=1)
