"""Exporting stems so they drop straight into a DAW.

Every exported stem is exactly as long as the original and starts at sample 0,
so stems placed at bar 1 line up with the original, and stems at unity gain
sum back to the mix. Audio encoding itself (format, dither, clipping, atomic
files) lives in :mod:`stemsplit.core.audio.write`, file names in
:mod:`stemsplit.core.audio.export_names` (re-exported here); this module decides
rates, gains and the order of work, and writes a set (stems and "what you hear")
as one commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from stemsplit.core.audio.commit import commit_all
from stemsplit.core.audio.export_names import (  # noqa: F401 (re-exported for callers)
    DEFAULT_FORMAT,
    DEFAULT_PATTERN,
    MAX_NAME_BYTES,
    MIX_STEM_NAME,
    PATTERN_FIELDS,
    PatternError,
    _distinct,
    expand_pattern,
    fs_name,
    preview_names,
    sanitize_filename,
    song_name,
    what_you_hear,
)
from stemsplit.core.audio.resampling import resample, resampled_length
from stemsplit.core.audio.write import (
    AudioWriter,
    OutputFormat,
    check_writable,
    estimate_bytes,
)
from stemsplit.core.errors import AudioWriteError, Cancelled, StemsplitError
from stemsplit.core.stems import StemSet

EXPORT_RATES = (44100, 48000)
# Normalising aims a little below full scale: 16-bit dither and resampling
# overshoot need the room, and -0.1 dBFS is a common "true peak" ceiling.
CEILING_DB = -0.1
PEAK_POLICIES = ("clip", "normalise", "error")
BLOCK = 1 << 16  # frames per write: small enough for smooth progress and cancel

ProgressFn = Callable[[float, str], None]


class PeakError(AudioWriteError):
    """Peaks exceed full scale and the policy says not to write clipped audio."""


class ExistingFilesError(AudioWriteError):
    """Some outputs exist already; ``paths`` lists them so a caller can ask the user."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        names = ", ".join(p.name for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
        super().__init__(f"{len(paths)} file(s) already exist and were not overwritten: {names}")


# --- peaks ----------------------------------------------------------------

def peak_of(stems: Mapping[str, np.ndarray] | Iterable[np.ndarray]) -> float:
    """The largest absolute sample over all given stems (linear, 1.0 = full scale)."""
    arrays = stems.values() if isinstance(stems, Mapping) else stems
    # max and -min, not abs().max(): no temporary copy of every stem (400 MB and most of a
    # second on a 10-minute song, on the GUI thread when the export dialog opens).
    return max((max(float(np.max(a)), -float(np.min(a))) for a in arrays if np.size(a)),
               default=0.0)


def normalise_factor(peak: float, ceiling_db: float = CEILING_DB) -> float:
    """One gain for *all* stems that brings ``peak`` to the ceiling; 1.0 if it is below.

    Never applied per stem: one common factor keeps the stems' balance, and
    they still sum to the (equally scaled) mix.
    """
    ceiling = 10.0 ** (ceiling_db / 20.0)
    return 1.0 if peak <= 1.0 else ceiling / peak


def policy_gain(peak: float, policy: str, fmt: OutputFormat) -> float:
    """The gain a peak policy asks for.

    ``clip``: none (integer formats clip, float keeps the overs); ``normalise``:
    the common factor when the peak exceeds full scale; ``error``: raise.
    """
    if policy not in PEAK_POLICIES:
        raise StemsplitError(f"unknown peak policy {policy!r}; choose from "
                             f"{', '.join(PEAK_POLICIES)}")
    if peak <= 1.0 or policy == "clip":
        return 1.0
    if policy == "normalise":
        return normalise_factor(peak)
    raise PeakError(f"peaks reach {20 * np.log10(peak):+.1f} dBFS, above full scale; "
                    "normalise all stems by the same factor, or export as 32-bit float")


# --- mixing ---------------------------------------------------------------

def render_mix(stemset: StemSet,
               gains: Mapping[str, float] | Sequence[float] | None = None) -> np.ndarray:
    """What you hear: the stems summed with the mixer's effective linear gains.

    Solo and mute are the mixer's business: pass the gains it plays with
    (``stemsplit.playback.mixer.MixSettings.gains``, where mute and solo are
    already applied), so the file and the speakers can never disagree. A
    sequence is in stem order; a mapping defaults missing stems to 1.0.
    Accumulates in the mixer's order and precision (float32, stem by stem),
    so the result matches its output sample for sample.

    Returns:
        ``(channels, N)`` float32 at the stem set's rate, as long as the original.
    """
    names = stemset.names
    if gains is None:
        weights = [1.0] * len(names)
    elif isinstance(gains, Mapping):
        weights = [float(gains.get(n, 1.0)) for n in names]
    else:
        weights = [float(g) for g in gains]
        if len(weights) != len(names):
            raise StemsplitError(f"{len(weights)} gains for {len(names)} stems")
    first = next(iter(stemset.stems.values()))
    out = np.zeros(first.shape, dtype=np.float32)
    for w, audio in zip(weights, stemset.stems.values(), strict=True):
        if w != 0.0:
            out += audio * np.float32(w)
    return out


# --- export ---------------------------------------------------------------

def planned_paths(stemset: StemSet, folder: str | Path, pattern: str = DEFAULT_PATTERN,
                  fmt: OutputFormat = DEFAULT_FORMAT, rate: int | None = None,
                  stems: Iterable[str] | None = None, song: str | None = None) -> list[Path]:
    """Where :func:`export_stems` would write, in stem order."""
    song = song or song_name(stemset)
    rate = rate or stemset.sample_rate
    # <n> numbers a stem by its place in the model, not in the selection.
    index = {s: i + 1 for i, s in enumerate(stemset.names)}
    files = _distinct([expand_pattern(pattern, song=song, stem=s, fmt=fmt, model=stemset.model,
                                      n=index[s], rate=rate)
                       for s in _chosen(stemset, stems)])
    return [Path(folder) / f for f in files]


def existing(paths: Iterable[Path]) -> list[Path]:
    return [p for p in paths if p.exists()]


def export_stems(stemset: StemSet, folder: str | Path, pattern: str = DEFAULT_PATTERN,
                 fmt: OutputFormat = DEFAULT_FORMAT, rate: int | None = None,
                 stems: Iterable[str] | None = None, overwrite: bool = False,
                 progress: ProgressFn | None = None, cancel: threading.Event | None = None,
                 *, song: str | None = None, peaks: str = "clip") -> list[Path]:
    """Write the chosen stems, all or none.

    Every file is first written under a hidden temporary name; only when all of
    them are complete are they renamed into place, so a cancel, a full disk or
    a read-only folder leaves no partial file and no half set of stems. With
    ``overwrite`` the files being replaced are moved aside first and put back
    if any rename fails (:func:`~stemsplit.core.audio.commit.commit_all`).

    Args:
        stemset: the separated song.
        folder: where to write (created if missing).
        pattern: file-name pattern, see :func:`expand_pattern`.
        fmt: container and bit depth.
        rate: output rate in Hz; None keeps the original.
        stems: names to write, in any order; None writes all.
        overwrite: replace existing files (ask the user first).
        progress: called with (fraction 0..1, file name).
        cancel: set it to stop; raises Cancelled.
        song: the song's name for ``<song>``; default from ``stemset.meta``.
        peaks: peak policy, see :func:`policy_gain`.

    Returns:
        The written paths, in stem order.

    Raises:
        ExistingFilesError: outputs exist and ``overwrite`` is False (nothing written).
        AudioWriteError: folder unusable, disk full, or peaks with policy ``error``.
        PatternError: the pattern does not give distinct names.
        Cancelled: ``cancel`` was set (nothing written).
    """
    return export_set(stemset, folder, pattern, fmt, rate, _chosen(stemset, stems), overwrite,
                      progress, cancel, song=song, peaks=peaks)


def export_mix(stemset: StemSet, path: str | Path, fmt: OutputFormat = DEFAULT_FORMAT,
               rate: int | None = None,
               gains: Mapping[str, float] | Sequence[float] | None = None,
               overwrite: bool = False,
               progress: ProgressFn | None = None, cancel: threading.Event | None = None,
               *, peaks: str = "clip") -> Path:
    """Write what you hear (:func:`render_mix`) as one file, atomically."""
    return export_set(stemset, Path(path).parent, fmt=fmt, rate=rate, stems=[],
                      overwrite=overwrite, progress=progress, cancel=cancel, peaks=peaks,
                      mix_path=Path(path), mix_gains=gains)[0]


def export_set(stemset: StemSet, folder: str | Path, pattern: str = DEFAULT_PATTERN,
               fmt: OutputFormat = DEFAULT_FORMAT, rate: int | None = None,
               stems: Sequence[str] = (), overwrite: bool = False,
               progress: ProgressFn | None = None, cancel: threading.Event | None = None,
               *, song: str | None = None, peaks: str = "clip", mix_path: Path | None = None,
               mix_gains: Mapping[str, float] | Sequence[float] | None = None) -> list[Path]:
    """Write ``stems`` (possibly none) and, with ``mix_path``, what you hear, as one set.

    One commit for all of them: a cancel or a failure at any point, the "what you
    hear" file included, leaves none of them written (and any replaced file as it
    was), never stems without the mix the user asked for. The stems share one peak
    gain, the mix has its own (as :func:`export_stems` and :func:`export_mix`).

    Returns:
        The written paths: the stems in model order, then the mix.
    """
    names = list(stems)
    paths = planned_paths(stemset, folder, pattern, fmt, rate, names, song) if names else []
    audio = [stemset.stems[n] for n in names]
    gains = [policy_gain(peak_of(audio), peaks, fmt)] * len(names)
    if mix_path is not None:
        mix = render_mix(stemset, mix_gains)
        paths.append(Path(mix_path))
        audio.append(mix)
        gains.append(policy_gain(peak_of([mix]), peaks, fmt))
    if not paths:
        raise StemsplitError("no stems chosen to export")
    _distinct([p.name for p in paths])  # the mix's name too: one file cannot be two
    return _write_all(paths, audio, stemset.sample_rate, fmt, rate, gains, overwrite,
                      progress, cancel)


def _chosen(stemset: StemSet, stems: Iterable[str] | None) -> list[str]:
    if stems is None:
        return stemset.names
    wanted = set(stems)
    unknown = wanted - set(stemset.names)
    if unknown:
        raise StemsplitError(f"unknown stem(s) {', '.join(sorted(unknown))}; "
                             f"this model has {', '.join(stemset.names)}")
    if not wanted:
        raise StemsplitError("no stems chosen to export")
    return [n for n in stemset.names if n in wanted]  # model order, whatever the input order


def _write_all(paths: list[Path], audio: list[np.ndarray], sr: int, fmt: OutputFormat,
               rate: int | None, gains: list[float], overwrite: bool,
               progress: ProgressFn | None, cancel: threading.Event | None) -> list[Path]:
    rate = rate or sr
    if rate <= 0:
        raise AudioWriteError(f"invalid sample rate {rate}")
    if not overwrite and (found := existing(paths)):
        raise ExistingFilesError(found)
    frames = resampled_length(audio[0].shape[1], sr, rate)
    need = 0 if fmt.compressed else sum(estimate_bytes(frames, a.shape[0], fmt)
                                        for a in audio)
    for folder in {p.parent for p in paths}:
        check_writable(folder, need)
    writers: list[AudioWriter] = []
    try:
        for i, (path, data, gain) in enumerate(zip(paths, audio, gains, strict=True)):
            _check_cancel(cancel)
            out = resample(data, sr, rate)
            writer = AudioWriter(path, rate, out.shape[0], fmt, overwrite, seed=i)
            writers.append(writer)
            for start in range(0, out.shape[1], BLOCK):
                _check_cancel(cancel)
                block = out[:, start:start + BLOCK]
                writer.write(block * np.float32(gain) if gain != 1.0 else block)
                if progress:
                    done = (i + min(1.0, (start + BLOCK) / max(out.shape[1], 1))) / len(paths)
                    progress(0.98 * done, path.name)
            writer.close()
        _check_cancel(cancel)
        commit_all(writers)  # all or none, also when replacing files
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    if progress:
        progress(1.0, "")
    return paths


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("Export cancelled")
