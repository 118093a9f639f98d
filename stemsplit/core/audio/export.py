"""Exporting stems so they drop straight into a DAW.

Every exported stem is exactly as long as the original and starts at sample 0,
so stems placed at bar 1 line up with the original, and stems at unity gain
sum back to the mix. Audio encoding itself (format, dither, clipping, atomic
files) lives in :mod:`stemsplit.core.audio.write`; this module decides names,
rates, gains and the order of work.
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from stemsplit.core.audio.commit import commit_all
from stemsplit.core.audio.resampling import resample, resampled_length
from stemsplit.core.audio.write import (
    AudioWriter,
    OutputFormat,
    check_writable,
    estimate_bytes,
)
from stemsplit.core.errors import AudioWriteError, Cancelled, StemsplitError
from stemsplit.core.stems import StemSet

DEFAULT_PATTERN = "<song> - <stem>"
DEFAULT_FORMAT = OutputFormat("wav", "24")
PATTERN_FIELDS = ("song", "stem", "model", "n", "rate", "bits")
EXPORT_RATES = (44100, 48000)
MIX_STEM_NAME = "mix"
# Normalising aims a little below full scale: 16-bit dither and resampling
# overshoot need the room, and -0.1 dBFS is a common "true peak" ceiling.
CEILING_DB = -0.1
PEAK_POLICIES = ("clip", "normalise", "error")
BLOCK = 1 << 16  # frames per write: small enough for smooth progress and cancel

ProgressFn = Callable[[float, str], None]

_FIELD = re.compile(r"<([^<>]*)>")
_AUDIO_SUFFIX = re.compile(r"\.(wav|wave|flac|aif|aiff)$", re.IGNORECASE)
_BAD_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME_BYTES = 200


class PatternError(StemsplitError):
    """A file-name pattern cannot produce one distinct name per stem."""


class PeakError(AudioWriteError):
    """Peaks exceed full scale and the policy says not to write clipped audio."""


class ExistingFilesError(AudioWriteError):
    """Some outputs exist already; ``paths`` lists them so a caller can ask the user."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        names = ", ".join(p.name for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
        super().__init__(f"{len(paths)} file(s) already exist and were not overwritten: {names}")


# --- names ----------------------------------------------------------------

def sanitize_filename(name: str, fallback: str = "untitled") -> str:
    """Make ``name`` safe as one file name on Windows, macOS and Linux.

    Path separators and characters Windows forbids become ``_``; leading dots
    (hidden files), a leading ``-`` (read as an option by shell commands),
    trailing dots and spaces (Windows drops them) and reserved device names
    (``CON``, ``NUL``...) are defused; bytes that are not UTF-8 (a name from an
    old archive, kept by Python as lone surrogates) become ``_``; the result
    fits in ``MAX_NAME_BYTES`` of UTF-8 so an extension still fits in the
    255-byte limit. Pass the result through :func:`fs_name` before making a path.
    """
    name = _readable(name)
    name = unicodedata.normalize("NFC", name)
    name = " ".join(name.split())  # tabs and newlines become single spaces
    name = _BAD_CHARS.sub("_", name)
    name = name.lstrip(". ").rstrip(". ")
    if name.startswith("-"):
        name = "_" + name[1:]
    if name.split(".")[0].upper() in _WINDOWS_RESERVED:
        name = "_" + name
    encoded = name.encode("utf-8")[:MAX_NAME_BYTES]
    name = encoded.decode("utf-8", errors="ignore").rstrip(". ")
    return name or fallback


def _readable(name: str) -> str:
    """``name`` as real text: a name that came from the file system may hold
    surrogate escapes (bytes the file system encoding could not decode)."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        pass
    try:
        raw = os.fsencode(name)
    except UnicodeEncodeError:  # surrogates that are no escaped bytes
        raw = name.encode("utf-8", errors="replace")
    return raw.decode("utf-8", errors="replace").replace("\ufffd", "_")


def fs_name(name: str) -> str:
    """``name`` in the form the file system encoding can store.

    Under a C/POSIX locale without UTF-8 mode Python's file system encoding is
    ASCII, and ``"café"`` cannot be opened at all; its UTF-8 bytes, as surrogate
    escapes, can (and show as ``café`` in any UTF-8 terminal or file browser).
    """
    try:
        os.fsencode(name)
        return name
    except UnicodeEncodeError:
        return os.fsdecode(name.encode("utf-8"))
def what_you_hear(names: Sequence[str], gains: Sequence[float],
                  soloed: Sequence[str] = ()) -> tuple[str, str]:
    """The "what you hear" file's ``<stem>`` name and a sentence of what it holds.

    ``gains``: the mixer's effective linear gain per stem (mute and solo applied);
    ``soloed``: the stems whose solo is on. E.g. ``("vocals (solo)", "vocals alone")``,
    ``("without vocals", "everything but vocals")``, ``("mix", "the whole mix")``.
    """
    audible = [n for n, g in zip(names, gains, strict=True) if g > 0]
    if not audible:
        return "silence", "silence: every stem is muted"
    if len(audible) == len(names):
        if all(abs(g - 1.0) < 1e-6 for g in gains):
            return MIX_STEM_NAME, "the whole mix"
        return f"{MIX_STEM_NAME} (mixer levels)", "every stem, at the mixer's levels"
    listed = " + ".join(audible)
    if soloed and set(audible) <= set(soloed):
        return f"{listed} (solo)", f"{listed} alone"
    muted = [n for n in names if n not in audible]
    return f"without {' and '.join(muted)}", f"everything but {' and '.join(muted)}"


def expand_pattern(pattern: str, *, song: str, stem: str, fmt: OutputFormat = DEFAULT_FORMAT,
                   model: str = "", n: int = 1, rate: int = 44100) -> str:
    """One file name (with extension) from a pattern like ``<song> - <stem>``.

    Fields: ``<song> <stem> <model> <n>`` (stem number from 1) ``<rate>`` (Hz)
    ``<bits>`` (16, 24, 32f). An audio extension typed at the end of the
    pattern is replaced by the chosen format's.

    Raises:
        PatternError: unknown field or an empty pattern.
    """
    body = _AUDIO_SUFFIX.sub("", pattern.strip())
    if not body:
        raise PatternError("the file-name pattern is empty")
    values = {"song": song, "stem": stem, "model": model, "n": str(n), "rate": str(rate),
              "bits": fmt.bit_depth}

    def field(match: re.Match[str]) -> str:
        key = match.group(1).strip().lower()
        if key not in values:
            raise PatternError(f"unknown field <{match.group(1)}> in the file-name pattern; "
                               f"use {' '.join(f'<{f}>' for f in PATTERN_FIELDS)}")
        # Field values are sanitised on their own so a "/" in a title cannot make folders.
        return sanitize_filename(values[key], fallback="_")

    # A long title gives up its end, not the stem's name: cutting the whole name
    # would give every stem of a long-named song the same file name.
    excess = len(_FIELD.sub(field, body).encode("utf-8")) - MAX_NAME_BYTES
    uses = sum(m.group(1).strip().lower() == "song" for m in _FIELD.finditer(body))
    if excess > 0 and uses:
        title = sanitize_filename(song, fallback="_").encode("utf-8")
        keep = max(len(title) - -(-excess // uses), 1)  # ceil: every <song> gives its share
        values["song"] = title[:keep].decode("utf-8", errors="ignore")
    return f"{sanitize_filename(_FIELD.sub(field, body))}.{fmt.extension}"


def preview_names(pattern: str, song: str, stems: Iterable[str],
                  fmt: OutputFormat = DEFAULT_FORMAT, model: str = "",
                  rate: int = 44100) -> list[str]:
    """The file names an export would write, checked to be distinct.

    Raises:
        PatternError: bad field, or two stems would get the same name (compared
            case-insensitively, as macOS and Windows do).
    """
    stems = list(stems)
    names = [expand_pattern(pattern, song=song, stem=s, fmt=fmt, model=model, n=i + 1,
                            rate=rate) for i, s in enumerate(stems)]
    return _distinct(names)


def _distinct(names: list[str]) -> list[str]:
    if len({n.casefold() for n in names}) < len(names):
        raise PatternError("the file-name pattern gives several stems the same name; "
                           "include <stem> or <n>")
    return names


def song_name(stemset: StemSet, fallback: str = "song") -> str:
    """The song's name for file names: ``meta['song']``, else the source file's stem."""
    if stemset.meta.get("song"):
        return str(stemset.meta["song"])
    if stemset.meta.get("path"):
        return Path(str(stemset.meta["path"])).stem
    return fallback


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
    names = _chosen(stemset, stems)
    paths = planned_paths(stemset, folder, pattern, fmt, rate, names, song)
    audio = {n: stemset.stems[n] for n in names}
    gain = policy_gain(peak_of(audio), peaks, fmt)
    return _write_all(paths, audio, stemset.sample_rate, fmt, rate, gain, overwrite,
                      progress, cancel)


def export_mix(stemset: StemSet, path: str | Path, fmt: OutputFormat = DEFAULT_FORMAT,
               rate: int | None = None,
               gains: Mapping[str, float] | Sequence[float] | None = None,
               overwrite: bool = False,
               progress: ProgressFn | None = None, cancel: threading.Event | None = None,
               *, peaks: str = "clip") -> Path:
    """Write what you hear (:func:`render_mix`) as one file, atomically."""
    mix = render_mix(stemset, gains)
    gain = policy_gain(peak_of([mix]), peaks, fmt)
    return _write_all([Path(path)], {MIX_STEM_NAME: mix}, stemset.sample_rate, fmt, rate,
                      gain, overwrite, progress, cancel)[0]


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


def _write_all(paths: list[Path], audio: dict[str, np.ndarray], sr: int, fmt: OutputFormat,
               rate: int | None, gain: float, overwrite: bool, progress: ProgressFn | None,
               cancel: threading.Event | None) -> list[Path]:
    rate = rate or sr
    if rate <= 0:
        raise AudioWriteError(f"invalid sample rate {rate}")
    if not overwrite and (found := existing(paths)):
        raise ExistingFilesError(found)
    frames = resampled_length(next(iter(audio.values())).shape[1], sr, rate)
    need = 0 if fmt.compressed else sum(estimate_bytes(frames, a.shape[0], fmt)
                                        for a in audio.values())
    for folder in {p.parent for p in paths}:
        check_writable(folder, need)
    writers: list[AudioWriter] = []
    try:
        for i, (path, data) in enumerate(zip(paths, audio.values(), strict=True)):
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
