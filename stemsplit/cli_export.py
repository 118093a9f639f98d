"""Export options for ``stemsplit separate``: flags, and a streaming writer that honours them.

The CLI writes stems while the engine runs. :class:`StemStreamWriter` takes the
engine's blocks and applies what the GUI's export applies (file-name pattern,
sample-rate conversion with exact length, peak policy), all through
``stemsplit.core.export`` / ``stemsplit.core.audio_write``, so a file from the
CLI and one from the dialog are the same.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stemsplit.core.audio_write import AudioWriter, OutputFormat
from stemsplit.core.errors import StemsplitError
from stemsplit.core.export import (
    EXPORT_RATES,
    PEAK_POLICIES,
    expand_pattern,
    peak_of,
    policy_gain,
)
from stemsplit.core.resampling import StreamResampler

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
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid rate {text!r}; use original, 44100 or 48000") from None
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
                             "factor; holds the song in memory) or error")


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
    paths = {s: folder / expand_pattern(options.pattern, song=song, stem=s, fmt=options.fmt,
                                        model=model, n=list(all_stems).index(s) + 1, rate=rate)
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

    With the ``clip`` policy blocks stream straight to disk; ``normalise`` and
    ``error`` need the whole song's peak first, so blocks are held in memory
    and written in :meth:`commit`.
    """

    def __init__(self, outputs: Mapping[str, Path], sample_rate: int, channels: int,
                 total_frames: int, options: ExportOptions, overwrite: bool = False) -> None:
        self.options = options
        self.rate = options.rate or sample_rate
        self._sr, self._channels, self._total = sample_rate, channels, total_frames
        self._seen = 0
        self._held: dict[str, list[np.ndarray]] = {s: [] for s in outputs}
        self._resamplers = {s: StreamResampler(sample_rate, self.rate, channels, total_frames)
                            for s in outputs}
        self.writers: dict[str, AudioWriter] = {}
        try:
            for i, (stem, path) in enumerate(outputs.items()):
                self.writers[stem] = AudioWriter(path, self.rate, channels, options.fmt,
                                                 overwrite, seed=i)
        except BaseException:
            self.abort()
            raise

    @property
    def streaming(self) -> bool:
        return self.options.peaks == "clip"

    def write(self, audio: Mapping[str, np.ndarray]) -> None:
        """One :class:`~stemsplit.core.stems.StemBlock`'s ``audio`` (stem -> (channels, n))."""
        n = 0
        for stem, writer in self.writers.items():
            block = np.asarray(audio[stem], dtype=np.float32)
            n = block.shape[-1]
            if self.streaming:
                last = self._seen + n >= self._total
                writer.write(self._resamplers[stem].process(block, last=last))
            else:
                self._held[stem].append(block)
        self._seen += n

    def commit(self) -> list[Path]:
        """Finish every file, then rename them all into place."""
        committed: list[Path] = []
        try:
            if not self.streaming:
                self._write_held()
            for writer in self.writers.values():
                writer.close()
            for writer in self.writers.values():
                committed.append(writer.commit())
            return committed
        except BaseException:
            self.abort()
            if not any(w.overwrite for w in self.writers.values()):
                for path in committed:  # a rename failed midway: all or none
                    path.unlink(missing_ok=True)
            raise

    def _write_held(self) -> None:
        whole = {s: np.concatenate(b, axis=1) if b else np.zeros((self._channels, 0), np.float32)
                 for s, b in self._held.items()}
        gain = np.float32(policy_gain(peak_of(whole), self.options.peaks, self.options.fmt))
        for stem, writer in self.writers.items():
            audio = whole[stem] * gain if gain != 1.0 else whole[stem]
            writer.write(self._resamplers[stem].process(audio, last=True))
            self._held[stem] = []

    @property
    def clipped(self) -> dict[str, int]:
        """Stem -> samples clipped at full scale (integer formats, ``clip`` policy)."""
        return {s: w.clipped for s, w in self.writers.items() if w.clipped}

    def abort(self) -> None:
        """Remove every temporary file; committed files stay."""
        for writer in self.writers.values():
            writer.abort()
