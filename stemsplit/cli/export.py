"""Export options for ``stemsplit separate``: flags, and a streaming writer that honours them.

The CLI writes stems while the engine runs. :class:`StemStreamWriter` takes the
engine's blocks and applies what the GUI's export applies (file-name pattern,
sample-rate conversion with exact length, peak policy), all through
``stemsplit.core.audio.export`` / ``stemsplit.core.audio.write``, so a file from the
CLI and one from the dialog are the same.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from stemsplit.core.audio.commit import commit_all
from stemsplit.core.audio.disk import _disk_message
from stemsplit.core.audio.export import (
    BLOCK,
    EXPORT_RATES,
    PEAK_POLICIES,
    expand_pattern,
    fs_name,
    peak_of,
    policy_gain,
)
from stemsplit.core.audio.partials import temp_file
from stemsplit.core.audio.resampling import StreamResampler
from stemsplit.core.audio.write import AudioWriter, OutputFormat, estimate_bytes
from stemsplit.core.errors import AudioWriteError, StemsplitError, shown

CLI_PATTERN = "<stem>"  # the CLI gives every song its own folder already


@dataclass(frozen=True)
class ExportOptions:
    """How stems are written: format, rate (None = original), names, peak policy."""

    fmt: OutputFormat = OutputFormat("wav", "24")
    rate: int | None = None
    pattern: str = CLI_PATTERN
    peaks: str = "clip"


def parse_rate(text: str) -> int | None:
    """``original`` -> None; ``44100``, ``44.1k``, ``48k``, ``48000`` -> Hz."""
    value = text.strip().lower()
    if value in ("original", "orig", "keep", ""):
        return None
    try:
        hz = round(float(value[:-1]) * 1000) if value.endswith("k") else int(value)
    except (ValueError, OverflowError):  # "48x", "infk", "1e400k", "nank"
        raise argparse.ArgumentTypeError(
            f"invalid rate {shown(text)!r}; use original, 44100 or 48000") from None
    if hz not in EXPORT_RATES:
        raise argparse.ArgumentTypeError(f"unsupported rate {hz}; use original, "
                                         + " or ".join(str(r) for r in EXPORT_RATES))
    return hz


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--rate``, ``--name-pattern`` and ``--peaks`` (``--format`` and
    ``--bit-depth`` already exist in the CLI and keep their meaning)."""
    parser.add_argument("--rate", type=parse_rate, default=None, metavar="HZ",
                        help="output sample rate: original (default), 44100 or 48000; "
                             "stems keep exactly the original's length and start")
    parser.add_argument("--name-pattern", default=CLI_PATTERN, metavar="PATTERN",
                        help="file names inside each song's folder, from the fields "
                             "<song> <stem> <model> <n> <rate> <bits> (default: %(default)s)")
    parser.add_argument("--peaks", choices=PEAK_POLICIES, default="clip",
                        help="peaks above full scale: clip (default; integer formats clip "
                             "and a warning is printed), normalise (all stems by one common "
                             "factor; the stems wait on disk as 32-bit float until the peak "
                             "is known) or error (write nothing)")


def output_options_from_args(args: argparse.Namespace) -> ExportOptions:
    """The options the flags describe.

    Raises:
        StemsplitError: bad format/depth combination or pattern.
    """
    fmt = OutputFormat(args.format, args.bit_depth)
    options = ExportOptions(fmt, getattr(args, "rate", None),
                            getattr(args, "name_pattern", CLI_PATTERN),
                            getattr(args, "peaks", "clip"))
    expand_pattern(options.pattern, song="song", stem="stem", fmt=fmt)  # fail early on typos
    return options


def stem_paths(options: ExportOptions, folder: Path, song: str, stems: Sequence[str],
               all_stems: Sequence[str], model: str, sample_rate: int) -> dict[str, Path]:
    """Stem -> output path; ``<n>`` numbers stems by their place in the model."""
    rate = options.rate or sample_rate
    paths = {s: folder / fs_name(expand_pattern(
                 options.pattern, song=song, stem=s, fmt=options.fmt, model=model,
                 n=list(all_stems).index(s) + 1, rate=rate))
             for s in stems}
    if len({p.name.casefold() for p in paths.values()}) < len(paths):
        raise StemsplitError("--name-pattern gives several stems the same name; "
                             "include <stem> or <n>")
    return paths


class StemStreamWriter:
    """Writes the engine's stem blocks to files, all committed together or none.

    Args:
        outputs: stem -> path.
        sample_rate, channels, total_frames: of the input song.
        options: format, rate, peak policy.
        overwrite: replace existing files.

    Memory stays bounded by a block whatever the song's length:

    - ``clip`` streams the blocks (resampled) straight into the final files.
    - ``error`` does the same while tracking the peak; :meth:`commit` refuses
      (and writes nothing) when it is above full scale.
    - ``normalise`` needs the whole song's peak before the first sample can be
      scaled, so the blocks stream (resampled) into hidden 32-bit float spool
      files beside the outputs; :meth:`commit` reads them back block by block,
      applies the one common gain, writes the final format and deletes them.

    The peak is measured on the stems at the input's rate, as the dialog's
    export (:func:`stemsplit.core.audio.export.export_stems`) measures it.
    """

    def __init__(self, outputs: Mapping[str, Path], sample_rate: int, channels: int,
                 total_frames: int, options: ExportOptions, overwrite: bool = False) -> None:
        self.options = options
        self.rate = options.rate or sample_rate
        self.peak = 0.0
        self._sr, self._channels, self._total = sample_rate, channels, total_frames
        self._seen = 0
        self._resamplers = {s: StreamResampler(sample_rate, self.rate, channels, total_frames)
                            for s in outputs}
        self.writers: dict[str, AudioWriter] = {}
        self._spools: dict[str, tuple[Path, BinaryIO]] = {}
        frames_out = total_frames * self.rate // sample_rate + 1
        try:
            for i, (stem, path) in enumerate(outputs.items()):
                self.writers[stem] = AudioWriter(path, self.rate, channels, options.fmt,
                                                 overwrite, seed=i)
                self.writers[stem].needed_bytes = len(outputs) * estimate_bytes(
                    frames_out, channels, options.fmt)
                if self.spooling:
                    self._open_spool(stem, path)
        except BaseException:
            self.abort()
            raise

    @property
    def spooling(self) -> bool:
        """Whether blocks go to float spool files first (``normalise``)."""
        return self.options.peaks == "normalise"

    def _open_spool(self, stem: str, path: Path) -> None:
        try:
            spool = temp_file(path.parent, f"{path.name}.f32")
        except OSError as exc:
            raise AudioWriteError(_disk_message(path, exc)) from exc
        self._spools[stem] = (spool, open(spool, "wb"))  # noqa: SIM115 - closed in commit/abort

    def write(self, audio: Mapping[str, np.ndarray]) -> None:
        """One ``engine.stems.StemBlock``'s ``audio`` (stem -> (channels, n))."""
        n = 0
        blocks = {s: np.asarray(audio[s], dtype=np.float32) for s in self.writers}
        if self.options.peaks != "clip":
            self.peak = max(self.peak, peak_of(blocks))
        for stem, writer in self.writers.items():
            block = blocks[stem]
            n = block.shape[-1]
            out = self._resamplers[stem].process(block, last=self._seen + n >= self._total)
            if self.spooling:
                spool, fh = self._spools[stem]
                try:
                    np.ascontiguousarray(out.T).tofile(fh)  # interleaved, like a raw float file
                except OSError as exc:
                    self.abort()
                    raise AudioWriteError(_disk_message(writer.path, exc)) from exc
            else:
                writer.write(out)
        self._seen += n

    def commit(self) -> list[Path]:
        """Finish every file, then move them all into place (all or none)."""
        try:
            gain = policy_gain(self.peak, self.options.peaks, self.options.fmt)
            if self.spooling:
                self._write_spooled(np.float32(gain))
            return commit_all(list(self.writers.values()))
        except BaseException:
            self.abort()
            raise
        finally:
            self._remove_spools()

    def _write_spooled(self, gain: np.float32) -> None:
        """Second pass of ``normalise``: spool -> gain -> final format, a block at a time."""
        for stem, writer in self.writers.items():
            spool, fh = self._spools[stem]
            try:
                fh.close()
                with open(spool, "rb") as src:
                    while (data := np.fromfile(src, np.float32, BLOCK * self._channels)).size:
                        block = data.reshape(-1, self._channels).T
                        writer.write(block * gain if gain != 1.0 else block)
            except OSError as exc:
                raise AudioWriteError(_disk_message(writer.path, exc)) from exc
            self._remove_spool(stem)  # the disk holds one spool less from here on

    def _remove_spool(self, stem: str) -> None:
        spool, fh = self._spools.pop(stem)
        with contextlib.suppress(OSError):
            fh.close()
        spool.unlink(missing_ok=True)

    def _remove_spools(self) -> None:
        for stem in list(self._spools):
            self._remove_spool(stem)

    @property
    def clipped(self) -> dict[str, int]:
        """Stem -> samples clipped at full scale (integer formats, ``clip`` policy)."""
        return {s: w.clipped for s, w in self.writers.items() if w.clipped}

    def abort(self) -> None:
        """Remove every temporary file; committed files stay."""
        for writer in self.writers.values():
            writer.abort()
        self._remove_spools()
