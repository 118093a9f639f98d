"""Command line: `stemsplit` opens the window; `stemsplit separate ...` runs headless.

Exit codes of `separate`: 0 every input succeeded (or was skipped because its
outputs exist), 1 some inputs failed, 2 every input failed or the command line
was wrong, 130 interrupted (Ctrl+C), 143 terminated (SIGTERM), 129 hung up (SIGHUP);
temporary files are removed in every one of these cases.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from stemsplit import __version__

EXIT_OK, EXIT_PARTIAL, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_separate_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from stemsplit.core.audio.write import BIT_DEPTHS, FORMATS
    from stemsplit.core.models.registry import DEFAULT_MODEL

    p = sub.add_parser(
        "separate", help="split audio files into stems",
        description="Split songs into stems. Writes OUT/<song name>/<stem>.<ext> per input.")
    p.add_argument("inputs", nargs="+", type=Path, help="audio files or folders (searched "
                   "recursively for audio files)")
    p.add_argument("-o", "--output", type=Path, default=Path("separated"),
                   help="output folder (default: ./separated)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL};"
                   " see 'stemsplit models list')")
    p.add_argument("--format", choices=list(FORMATS), default="wav", help="default: wav")
    p.add_argument("--bit-depth", choices=list(BIT_DEPTHS), default="24",
                   help="16 (TPDF-dithered), 24 or 32f float (default: 24)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto",
                   help="where the network runs (default: auto = CUDA, then MPS, then CPU)")
    p.add_argument("--stems", default=None,
                   help="comma-separated stems to write (default: all), e.g. vocals")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing stems (default: keep them, write only the "
                        "missing ones; skip songs whose stems all exist)")
    p.add_argument("--downmix", action="store_true",
                   help="fold files with more than two channels to stereo instead of refusing")
    from stemsplit.cli.export import add_export_arguments

    add_export_arguments(p)
    p.add_argument("--quiet", "-q", action="store_true", help="print errors only")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stemsplit",
        description="Split songs into stems. With no command, opens the window "
                    "(optionally with FILE loaded).")
    parser.add_argument("--version", action="version", version=f"stemsplit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    build_separate_parser(sub)
    try:
        from stemsplit.cli.models import add_models_command
    except ImportError:  # model management not available in this build
        pass
    else:
        add_models_command(sub)
    from stemsplit.cli.train import add_train_command

    add_train_command(sub)
    return parser


def build_gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stemsplit",
        usage="stemsplit [FILE] | stemsplit separate ... | stemsplit models ...",
        description="Open the stemsplit window, optionally with FILE loaded. "
                    "Commands: 'separate' (headless batch splitting), 'models' (manage models). "
                    "'stemsplit COMMAND --help' for details.")
    parser.add_argument("files", nargs="*", help="a song to open")
    parser.add_argument("--version", action="version", version=f"stemsplit {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="separate a few seconds of the demo song headless and check it")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"separate", "models", "train"}
    if argv and argv[0] in commands:
        args = build_parser().parse_args(argv)
        from stemsplit.cli.signals import describe, exit_code, terminate_as_interrupt

        try:
            with terminate_as_interrupt():  # SIGTERM/SIGHUP clean up like Ctrl+C
                if args.command == "separate":
                    return run_separate(args)
                return args.handler(args)
        except KeyboardInterrupt as exc:
            print(f"stemsplit: {describe(exc)}", file=sys.stderr)
            return exit_code(exc)
    if argv and argv[0] in ("-h", "--help") and len(argv) == 1:
        build_gui_parser().print_help()
        print("\ncommands:")
        build_parser().print_help()
        return EXIT_OK
    args = build_gui_parser().parse_args(argv)
    if args.self_test:
        from stemsplit.selftest import run_self_test

        return run_self_test()
    from stemsplit.gui.app import run

    return run(args.files)


# -- separate -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputGuard:
    """Where a batch may write: inside its output folder, never over one of its inputs."""

    root: Path  # the output folder, resolved
    inputs: frozenset[Path]  # every input of the batch, resolved
    inodes: frozenset[tuple[int, int]]  # and as (device, inode), so hard links count too

    def check(self, path: Path) -> None:
        """Refuse ``path`` unless it lies inside the output folder and is not an input.

        Raises:
            AudioWriteError: it must not be written.
            OSError: it cannot be looked at (a name too long, a folder without access).
        """
        from stemsplit.core.errors import AudioWriteError

        target = path.resolve()
        if not target.is_relative_to(self.root):
            raise AudioWriteError(f"{path} would lie outside the output folder {self.root} "
                                  "(through a link?); not written")
        try:
            st = target.stat()
        except (FileNotFoundError, NotADirectoryError):
            st = None
        if target in self.inputs or (st is not None and (st.st_dev, st.st_ino) in self.inodes):
            raise AudioWriteError(f"{path} is an input of this batch and is never written "
                                  "over; choose another output folder (-o)")


@dataclass
class Job:
    source: Path
    out_dir: Path
    guard: OutputGuard | None = None
    kept: tuple[str, ...] = ()  # stems whose files existed and were left as they were


def collect_inputs(inputs: list[Path], output: Path) -> tuple[list[Job], list[str]]:
    """Expand folders, drop duplicates and give each input its own output folder.

    Folders are searched without the output folder, so a second run does not split
    the first run's stems. Song folder names are sanitised first and then made
    distinct ignoring case, as macOS and Windows compare names.
    """
    from stemsplit.core.audio.export import sanitize_filename
    from stemsplit.core.audio.read import AUDIO_EXTENSIONS

    root = output.resolve()
    files: list[Path] = []
    errors: list[str] = []
    for item in inputs:
        if os.path.isdir(item):  # never raises, whatever the name (too long...)
            found = sorted(p for p in item.rglob("*")
                           if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
            outside = [p for p in found if not p.resolve().is_relative_to(root)]
            if not outside:
                errors.append(f"{item}: no audio files in this folder"
                              + (f" outside the output folder {output}" if found else ""))
            files.extend(outside)
        else:
            files.append(item)  # missing or odd files get their error when loaded
    seen: dict[Path, tuple[Path, str]] = {}  # resolved -> (as given, song folder name)
    taken: set[str] = set()
    for f in files:
        key = f.resolve()
        if key in seen:
            continue
        base = sanitize_filename(f.stem, fallback="song")  # "..", "con", 250 characters...
        name = base
        if name.casefold() in taken:  # song.mp3 and song.wav in one batch must not share a folder
            name = f"{base} ({sanitize_filename(f.suffix.lstrip('.'), fallback='file')})"
        n = 2
        while name.casefold() in taken:
            name, n = f"{base} ({n})", n + 1
        taken.add(name.casefold())
        seen[key] = f, name
    guard = OutputGuard(root, frozenset(seen), frozenset(filter(None, map(_inode, seen))))
    return [Job(f, output / name, guard) for f, name in seen.values()], errors


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def run_separate(args: argparse.Namespace) -> int:
    from stemsplit.cli.export import output_options_from_args, stem_paths
    from stemsplit.cli.progress import ProgressLine, format_duration
    from stemsplit.core.audio.read import probe_duration
    from stemsplit.core.errors import StemsplitError
    from stemsplit.core.models.registry import get_model

    try:
        info = get_model(args.model)
        options = output_options_from_args(args)
        wanted = _parse_stems(args.stems, info.stems)
        stem_paths(options, args.output, "song", wanted, info.stems, info.name, 44100)  # clashes
        if not info.is_installed():
            raise StemsplitError(f"the {info.name} model is not installed; install it with "
                                 f"'stemsplit models install {info.name}'")
    except StemsplitError as exc:
        print(f"stemsplit: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    jobs, problems = collect_inputs(args.inputs, args.output)
    for text in problems:
        print(f"error: {text}", file=sys.stderr)
    if not jobs:
        return EXIT_FAILED
    durations = [probe_duration(j.source) or 0.0 for j in jobs]
    progress = ProgressLine(sum(durations), len(jobs), quiet=args.quiet)
    separator = None
    ok = failed = 0
    failed += len(problems)
    for index, (job, seconds) in enumerate(zip(jobs, durations, strict=True), start=1):
        try:
            # a <rate> in the names needs the file's real rate: then _separate_one decides
            outputs = _output_paths(options, job, wanted, info, options.rate or 44100)
            job.kept = _kept(outputs, args.overwrite)
            if len(job.kept) == len(outputs) and not _names_need_rate(options):
                raise _AllExist
            if separator is None:
                separator = _make_separator(args, info)
            started = time.perf_counter()
            length = _separate_one(separator, job, wanted, options, args, progress, index,
                                   seconds)
            took = time.perf_counter() - started
            progress.file_done(seconds)
            progress.message(
                f"done {job.source.name} -> {job.out_dir}/ "
                f"({', '.join(s for s in wanted if s not in job.kept)}; "
                f"{format_duration(length)} in {took:.1f} s, {length / max(took, 1e-9):.1f}x "
                f"real time on {separator.device.type})"
                + (f"; kept the existing {', '.join(job.kept)} (use --overwrite to replace)"
                   if job.kept else ""))
            ok += 1
        except _AllExist:
            progress.file_done(seconds)
            progress.message(f"skipped {job.source.name}: its stems exist in {job.out_dir}/ "
                             "(use --overwrite to replace)")
            ok += 1
        except KeyboardInterrupt as exc:
            from stemsplit.cli.signals import describe, exit_code

            progress.clear()
            print(f"{describe(exc)}: {job.source.name} left unwritten", file=sys.stderr)
            return exit_code(exc)
        except StemsplitError as exc:
            progress.file_done(seconds)
            message = str(exc) if job.source.name in str(exc) else f"{job.source.name}: {exc}"
            progress.message(f"error: {message}", error=True)
            if args.debug:
                traceback.print_exc()
            failed += 1
            if separator is None and not _is_input_error(exc):
                return EXIT_FAILED  # the model itself cannot load: every input would fail
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
            progress.file_done(seconds)
            progress.message(f"error: {job.source.name}: unexpected {type(exc).__name__}: {exc}"
                             + ("" if args.debug else " (run with --debug for details)"),
                             error=True)
            if args.debug:
                traceback.print_exc()
            failed += 1
    if failed and not ok:
        return EXIT_FAILED
    return EXIT_PARTIAL if failed else EXIT_OK


def _parse_stems(text: str | None, stems: tuple[str, ...]) -> tuple[str, ...]:
    from stemsplit.core.errors import StemsplitError

    if not text:
        return stems
    wanted = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    unknown = [s for s in wanted if s not in stems]
    if unknown or not wanted:
        raise StemsplitError(f"unknown stem(s) {', '.join(unknown) or '(none given)'}; "
                             f"this model has: {', '.join(stems)}")
    return wanted


def _is_input_error(exc: Exception) -> bool:
    from stemsplit.core.errors import AudioLoadError, AudioWriteError

    return isinstance(exc, (AudioLoadError, AudioWriteError))


def _make_separator(args: argparse.Namespace, info):
    from stemsplit.core.models.registry import load_separator

    return load_separator(info, device=args.device)


def _output_paths(options, job: Job, wanted, info, sample_rate: int) -> dict[str, Path]:
    """Stem -> path, each checked to lie inside the output folder and not to be an input.

    Raises:
        AudioWriteError: this file's stems cannot go there (a path too long, a link
            leading out of the output folder, an input of the batch, clashing names).
    """
    from stemsplit.cli.export import stem_paths
    from stemsplit.core.errors import AudioWriteError, StemsplitError

    try:
        outputs = stem_paths(options, job.out_dir, job.source.stem, wanted, info.stems,
                             info.name, sample_rate)
        for path in outputs.values():
            if job.guard is not None:
                job.guard.check(path)
    except AudioWriteError:
        raise
    except (StemsplitError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise AudioWriteError(f"{job.source.name}: cannot write its stems to {job.out_dir}: "
                              f"{reason}") from exc
    return outputs


class _AllExist(Exception):  # noqa: N818 - a signal to skip the file, not an error
    """Every requested stem of a song exists and --overwrite was not given."""


def _kept(outputs: dict[str, Path], overwrite: bool) -> tuple[str, ...]:
    """The stems whose files exist and are left as they are (all of them are replaced only
    with --overwrite); the others are written."""
    return () if overwrite else tuple(s for s, p in outputs.items() if p.exists())


def _names_need_rate(options) -> bool:
    import re

    return options.rate is None and re.search(r"<\s*rate\s*>", options.pattern, re.I) is not None


def _separate_one(separator, job: Job, wanted, options, args, progress,
                  index: int, seconds: float) -> float:
    """Separate one file, streaming the stems to temporary files that are renamed into place
    together at the end (all or none); returns the song's duration."""
    from stemsplit.cli.export import StemStreamWriter
    from stemsplit.core.audio.read import load_audio

    audio = load_audio(job.source, downmix=args.downmix)
    seconds = seconds or audio.duration_s
    outputs = _output_paths(options, job, wanted, separator.info, audio.sample_rate)
    job.kept = _kept(outputs, args.overwrite)  # never replaced without --overwrite
    if len(job.kept) == len(outputs):
        raise _AllExist
    outputs = {s: p for s, p in outputs.items() if s not in job.kept}
    writer = StemStreamWriter(outputs, audio.sample_rate, audio.channels, audio.frames,
                              options, args.overwrite)
    try:
        for p in separator.iter_separate(audio.samples, audio.sample_rate):
            if p.stems is not None:
                writer.write(p.stems.audio)
            progress.update(index, job.source.name, p.fraction, seconds, p.eta_s)
        writer.commit()
        for stem, count in writer.clipped.items():
            progress.message(f"warning: {outputs[stem].name}: {count} samples above full scale "
                             "were clipped (use --peaks normalise or --bit-depth 32f)")
    finally:
        writer.abort()  # no-op once committed; removes temporary files otherwise
    return audio.duration_s
