"""Tracks with reference stems, in the layouts source-separation data comes in.

Three layouts are read, found anywhere under the folder given (so ``train/`` and
``test/`` sub-folders work as they are shipped):

- **MUSDB18**: ``<track>.stem.mp4`` files (native instruments stems), streams in the
  order mixture, drums, bass, other, vocals; decoded with PyAV.
- **MUSDB18-HQ**: one folder per track holding ``mixture.wav`` and ``drums.wav``,
  ``bass.wav``, ``other.wav``, ``vocals.wav``.
- **mix + stems**: any folder holding a ``mix`` (or ``mixture``) audio file and one audio
  file per stem, named by the stem (``vocals.flac``, ``accompaniment.wav``, ...).

Where ``accompaniment`` is not given but ``vocals`` is, it is derived as MUSDB's tools do:
the sum of the other stems when the track has all of drums, bass and other, else the
mixture minus the vocals.

Typical use (evaluation, training)::

    from stemsplit.core.evaluation.datasets import find_tracks
    for track in find_tracks("musdb18/test"):
        audio = track.load()            # TrackAudio
        audio.mixture                   # (channels, samples) float32
        audio.references["vocals"]      # (channels, samples) float32, same shape
        audio.sample_rate

Every problem with a folder is a ``DatasetError`` whose message names the track and
the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stemsplit.core.audio.read import AUDIO_EXTENSIONS, load_audio
from stemsplit.core.errors import AudioLoadError, DatasetError

MUSDB_STREAMS = ("mixture", "drums", "bass", "other", "vocals")
MIX_NAMES = ("mixture", "mix")
STEM_SUFFIX = ".stem.mp4"


@dataclass(frozen=True)
class TrackAudio:
    """A track decoded: the mixture and each reference stem, all ``(C, N)`` float32."""

    name: str
    sample_rate: int
    mixture: np.ndarray
    references: dict[str, np.ndarray]

    @property
    def stems(self) -> tuple[str, ...]:
        return tuple(self.references)

    @property
    def duration_s(self) -> float:
        return self.mixture.shape[-1] / self.sample_rate

    def excerpt(self, start_s: float, length_s: float) -> TrackAudio:
        """The same track cut to ``[start_s, start_s + length_s)`` (for training windows)."""
        a = max(0, int(round(start_s * self.sample_rate)))
        b = a + max(1, int(round(length_s * self.sample_rate)))
        return TrackAudio(self.name, self.sample_rate, self.mixture[:, a:b],
                          {k: v[:, a:b] for k, v in self.references.items()})


@dataclass(frozen=True)
class Track:
    """One track found on disk (nothing decoded yet).

    Attributes:
        name: the track's name (file or folder name without ``.stem.mp4``).
        path: the ``.stem.mp4`` file or the track's folder.
        layout: ``"musdb"`` (stem file) or ``"folder"`` (MUSDB18-HQ or mix + stems).
        files: for folders, stem name -> file (the mixture under ``"mixture"``).
    """

    name: str
    path: Path
    layout: str
    files: tuple[tuple[str, Path], ...] = ()

    @property
    def stems(self) -> tuple[str, ...]:
        """Reference stems this track offers, accompaniment included where derivable."""
        names = list(MUSDB_STREAMS[1:]) if self.layout == "musdb" else \
            [s for s, _ in self.files if s != "mixture"]
        if "vocals" in names and "accompaniment" not in names:
            names.append("accompaniment")
        return tuple(names)

    def load(self, stems: tuple[str, ...] | None = None) -> TrackAudio:
        """Decode the mixture and the references (all, or only ``stems``).

        Raises:
            DatasetError: a stem asked for is missing, or the files disagree in length,
                rate or channels.
        """
        if stems is not None:
            missing = [s for s in stems if s not in self.stems]
            if missing:
                raise DatasetError(f"{self.name}: no reference for {', '.join(missing)} "
                                   f"(it has {', '.join(self.stems) or 'no stems'})")
        if self.layout == "musdb":
            rate, arrays = read_stem_file(self.path)
            named = dict(zip(MUSDB_STREAMS, arrays, strict=False))
            sources = {k: str(self.path.name) + f" stream {i}"
                       for i, k in enumerate(MUSDB_STREAMS)}
        else:
            named, sources, rates = {}, {}, {}
            needed = None if stems is None else {"mixture", *stems}
            if needed is not None and "accompaniment" in needed and \
                    "accompaniment" not in dict(self.files):
                # Derived the same way whatever else is asked for (see accompaniment()).
                needed |= {"vocals", "drums", "bass", "other"}
            for stem, path in self.files:
                if needed is not None and stem not in needed:
                    continue
                try:
                    audio = load_audio(path)
                except AudioLoadError as exc:
                    raise DatasetError(f"{self.name}: {exc}") from None
                named[stem], sources[stem], rates[stem] = audio.samples, path.name, \
                    audio.sample_rate
            rate = _same_rate(self.name, rates, sources)
        mixture = named.pop("mixture")
        _check_shapes(self.name, rate, mixture, named, sources)
        wanted = stems if stems is not None else self.stems
        refs = {s: named[s] for s in wanted if s in named}
        if "accompaniment" in wanted and "accompaniment" not in named:
            refs["accompaniment"] = accompaniment(mixture, named)
        return TrackAudio(self.name, rate, mixture, refs)


def accompaniment(mixture: np.ndarray, stems: dict[str, np.ndarray]) -> np.ndarray:
    """Everything but the vocals: drums + bass + other when all exist (MUSDB's rule), else
    mixture - vocals."""
    if all(s in stems for s in ("drums", "bass", "other")):
        return (stems["drums"] + stems["bass"] + stems["other"]).astype(np.float32)
    return (mixture - stems["vocals"]).astype(np.float32)


def find_tracks(root: str | Path) -> list[Track]:
    """Every track under ``root`` (a folder, a ``.stem.mp4`` file or a track folder), sorted.

    Raises:
        DatasetError: ``root`` does not exist or holds no track.
    """
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"{root}: no such file or folder")
    if root.is_file():
        if root.name.lower().endswith(STEM_SUFFIX):
            return [_stem_track(root)]
        raise DatasetError(f"{root}: not a .stem.mp4 file or a folder of stems")
    tracks = [_stem_track(p) for p in sorted(root.rglob("*"))
              if p.name.lower().endswith(STEM_SUFFIX) and p.is_file()]
    for folder in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
        track = folder_track(folder)
        if track is not None:
            tracks.append(track)
    if not tracks:
        raise DatasetError(f"{root}: no tracks found (expected <track>.stem.mp4 files, or "
                           "folders with a mixture or mix file beside one file per stem)")
    return sorted(tracks, key=lambda t: (t.name.lower(), str(t.path)))


def folder_track(folder: Path) -> Track | None:
    """The track in ``folder`` if it holds a mixture / mix file, else None.

    Raises:
        DatasetError: the folder has a mixture but no stems, or two files for one stem.
    """
    files: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.suffix.lower() not in AUDIO_EXTENSIONS or p.name.startswith("."):
            continue
        stem = p.stem.lower()
        stem = "mixture" if stem in MIX_NAMES else stem
        if stem in files:
            raise DatasetError(f"{folder.name}: two files for {stem}: {files[stem].name} and "
                               f"{p.name}")
        files[stem] = p
    if "mixture" not in files:
        return None
    if len(files) == 1:
        raise DatasetError(f"{folder.name}: {files['mixture'].name} has no stem files beside "
                           "it (expected e.g. vocals.wav)")
    ordered = [("mixture", files.pop("mixture")), *sorted(files.items())]
    return Track(folder.name, folder, "folder", tuple(ordered))


def _stem_track(path: Path) -> Track:
    return Track(path.name[: -len(STEM_SUFFIX)], path, "musdb")


def read_stem_file(path: Path) -> tuple[int, list[np.ndarray]]:
    """Decode every audio stream of a ``.stem.mp4`` in one pass: rate and ``(C, N)`` arrays.

    Raises:
        DatasetError: not readable, fewer than 5 streams, or streams that disagree.
    """
    import av  # only needed for stem files

    try:
        with av.open(str(path)) as container:
            streams = list(container.streams.audio)
            if len(streams) < len(MUSDB_STREAMS):
                raise DatasetError(f"{path.name}: {len(streams)} audio streams; a MUSDB18 stem "
                                   f"file has {len(MUSDB_STREAMS)} ({', '.join(MUSDB_STREAMS)})")
            streams = streams[: len(MUSDB_STREAMS)]
            rates = {s.codec_context.sample_rate for s in streams}
            if len(rates) != 1:
                raise DatasetError(f"{path.name}: its streams have different sample rates "
                                   f"({', '.join(map(str, sorted(rates)))} Hz)")
            indices = [s.index for s in streams]
            blocks: dict[int, list[np.ndarray]] = {i: [] for i in indices}
            for packet in container.demux(streams):
                for frame in packet.decode():
                    a = frame.to_ndarray()
                    n = frame.layout.nb_channels
                    blocks[packet.stream.index].append(
                        a.reshape(n, -1) if frame.format.is_planar else a.reshape(-1, n).T)
    except DatasetError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise DatasetError(f"{path.name}: not a readable stem file ({exc})") from None
    arrays = []
    for i in indices:
        if not blocks[i]:
            raise DatasetError(f"{path.name}: stream {i} holds no audio")
        arrays.append(np.ascontiguousarray(np.concatenate(blocks[i], axis=1),
                                           dtype=np.float32))
    n = min(a.shape[1] for a in arrays)
    if max(a.shape[1] for a in arrays) - n > 4096:  # codec padding differs by < one frame
        raise DatasetError(f"{path.name}: its streams differ in length")
    return rates.pop(), [a[:, :n] for a in arrays]


def _same_rate(name: str, rates: dict[str, int], sources: dict[str, str]) -> int:
    if len(set(rates.values())) > 1:
        listed = ", ".join(f"{sources[k]} {v} Hz" for k, v in rates.items())
        raise DatasetError(f"{name}: the files have different sample rates ({listed}); "
                           "resample them to one rate")
    return next(iter(rates.values()))


def _check_shapes(name: str, rate: int, mixture: np.ndarray, stems: dict[str, np.ndarray],
                  sources: dict[str, str]) -> None:
    for stem, audio in stems.items():
        if audio.shape[0] != mixture.shape[0]:
            raise DatasetError(
                f"{name}: {sources[stem]} is {_channels(audio)} but {sources['mixture']} is "
                f"{_channels(mixture)}; every stem needs the mixture's channels")
        if audio.shape[1] != mixture.shape[1]:
            raise DatasetError(
                f"{name}: {sources[stem]} lasts {audio.shape[1] / rate:.3f} s but "
                f"{sources['mixture']} {mixture.shape[1] / rate:.3f} s "
                f"({audio.shape[1]} vs {mixture.shape[1]} samples); stems must be as long "
                "as the mixture")


def _channels(a: np.ndarray) -> str:
    return _channel_word(a.shape[0])


def _channel_word(n: int) -> str:
    return {1: "mono", 2: "stereo"}.get(n, f"{n} channels")


def find_estimates(folder: str | Path, track: str) -> dict[str, Path]:
    """Stem -> file of the estimates another tool wrote for ``track``.

    Looks in ``folder/<track>/`` (museval's layout), ``folder/<track>.stem/`` (what
    ``stemsplit separate`` writes for a ``.stem.mp4``), then ``folder`` itself.
    """
    folder = Path(folder)
    for place in (folder / track, folder / f"{track}.stem", folder):
        if place.is_dir():
            found = {p.stem.lower(): p for p in sorted(place.iterdir())
                     if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS
                     and p.stem.lower() not in MIX_NAMES}
            if found:
                return found
    return {}


def load_estimates(folder: str | Path, track: str, stems: tuple[str, ...], sample_rate: int,
                   shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Estimates another tool wrote for ``track`` (see :func:`find_estimates`).

    As museval does, estimates longer than the reference are cut and shorter ones
    padded with zeros.

    Args:
        shape: the references' ``(channels, samples)``.

    Raises:
        DatasetError: no estimate of a stem, or one at another rate or channel count.
    """
    found = find_estimates(folder, track)
    missing = [s for s in stems if s not in found]
    if missing:
        raise DatasetError(f"{track}: no estimate of {', '.join(missing)} in "
                           f"{Path(folder) / track} (expected files like {missing[0]}.wav)")
    out = {}
    for stem in stems:
        try:
            audio = load_audio(found[stem])
        except AudioLoadError as exc:
            raise DatasetError(f"{track}: {exc}") from None
        if audio.sample_rate != sample_rate:
            raise DatasetError(f"{track}: {found[stem].name} is at {audio.sample_rate} Hz, the "
                               f"references at {sample_rate} Hz")
        x = audio.samples
        if x.shape[0] != shape[0]:
            raise DatasetError(f"{track}: {found[stem].name} is {_channels(x)}, the references "
                               f"{_channel_word(shape[0])}")
        if x.shape[1] >= shape[1]:
            x = x[:, : shape[1]]
        else:
            x = np.pad(x, ((0, 0), (0, shape[1] - x.shape[1])))
        out[stem] = np.ascontiguousarray(x, dtype=np.float32)
    return out
