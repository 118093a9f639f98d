"""`stemsplit separate`: split a batch of songs, each into its own folder of stems.

Each song folder is locked while a run looks at it and writes it
(:class:`~stemsplit.core.audio.song_folder.FolderLock`); what a killed run left
there is swept or finished first; the stems are committed as one set; and the
folder records which song and model its stems came from, so a different song
with the same name is never taken for "already split". One bad file never stops
the batch, and stems that were written are never reported as failed because
the terminal went away (see :mod:`stemsplit.cli.console`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import time
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stemsplit.cli.inputs import Job, check_output_folder, collect_inputs
from stemsplit.core.errors import shown

EXIT_OK, EXIT_PARTIAL, EXIT_FAILED = 0, 1, 2


@dataclass
class Tally:
    split: int = 0
    failed: int = 0
    skipped: int = 0

    def line(self, output: Path) -> str:
        return (f"{self.split} split, {self.failed} failed, {self.skipped} skipped; "
                f"stems in {shown(output)}{os.sep}")

    def exit_code(self) -> int:
        if self.failed and not (self.split or self.skipped):
            return EXIT_FAILED
        return EXIT_PARTIAL if self.failed else EXIT_OK


def run_separate(args: argparse.Namespace) -> int:
    import sys

    from stemsplit.cli.export import output_options_from_args, stem_paths
    from stemsplit.cli.progress import ProgressLine
    from stemsplit.core.audio.read import probe_duration
    from stemsplit.core.errors import StemsplitError
    from stemsplit.core.models.registry import get_model

    with _warnings_as_lines():
        try:
            info = get_model(args.model)
            options = output_options_from_args(args)
            wanted = parse_stems(args.stems, info.stems)
            if args.wiener is not None and not 0 <= args.wiener <= 20:
                raise StemsplitError(f"--wiener takes 0 to 20 iterations, not {args.wiener}")
            stem_paths(options, args.output, "song", wanted, info.stems, info.name, 44100)
            if not info.is_installed():
                raise StemsplitError(f"the {info.name} model is not installed; install it "
                                     f"with 'stemsplit models install {info.name}'")
            check_output_folder(args.output)
            if args.device != "auto":  # said once, before any file
                from stemsplit.core.engine.device import resolve_device

                resolve_device(args.device)
        except StemsplitError as exc:
            print(f"stemsplit: error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        collected = collect_inputs(args.inputs, args.output)
        for text in collected.warnings:
            print(f"warning: {text}", file=sys.stderr)
        for text in collected.errors:
            print(f"error: {text}", file=sys.stderr)
        tally = Tally(failed=len(collected.errors))
        jobs = collected.jobs
        made_output = not os.path.lexists(args.output)
        durations = [probe_duration(j.source) or 0.0 for j in jobs]
        progress = ProgressLine(sum(durations), len(jobs), quiet=args.quiet)
        batch = _Batch(args, info, options, wanted, progress, tally)
        for index, (job, seconds) in enumerate(zip(jobs, durations, strict=True), start=1):
            if not batch.run(job, index, seconds):
                break
        if made_output:  # every song failed: leave no empty output folder either
            with contextlib.suppress(OSError):
                os.rmdir(args.output)
        if batch.interrupted is not None:
            return batch.interrupted
        if not args.quiet or tally.failed:
            progress.message(tally.line(args.output), error=bool(tally.failed))
        return tally.exit_code()


@contextlib.contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """stemsplit's own warnings (a cache it cannot write) as one ``warning:`` line each."""
    import sys

    from stemsplit.core.errors import StemsplitWarning

    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if issubclass(category, StemsplitWarning):
            print(f"warning: {message}", file=sys.stderr, flush=True)
        else:
            previous(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():  # restores the filters and showwarning afterwards
        warnings.simplefilter("always", StemsplitWarning)
        warnings.showwarning = show
        yield


class _AllExist(Exception):  # noqa: N818 - a signal to skip the file, not an error
    """Every requested stem of a song exists and --overwrite was not given."""


class _Batch:
    """The state a batch carries from song to song (the loaded model, the tally)."""

    def __init__(self, args, info, options, wanted, progress, tally: Tally) -> None:
        self.args, self.info, self.options, self.wanted = args, info, options, wanted
        self.progress, self.tally = progress, tally
        self.separator = None
        self.interrupted: int | None = None

    def run(self, job: Job, index: int, seconds: float) -> bool:
        """Split one song; False when the batch must stop."""
        from stemsplit.core.errors import StemsplitError

        args, progress = self.args, self.progress
        created = not os.path.lexists(job.out_dir)
        try:
            length, took = self._split_locked(job, index, seconds)
            progress.file_done(seconds)
            from stemsplit.cli.progress import format_duration

            progress.message(
                f"done {shown(job.source.name)} -> {shown(job.out_dir)}{os.sep} "
                f"({', '.join(s for s in self.wanted if s not in job.kept)}; "
                f"{format_duration(length)} in {took:.1f} s, {length / max(took, 1e-9):.1f}x "
                f"real time on {self.separator.device.type}, {self.separator.precision.name})"
                + (f"; kept the existing {', '.join(job.kept)} (use --overwrite to replace)"
                   if job.kept else ""))
            self.tally.split += 1
        except _AllExist:
            progress.file_done(seconds)
            progress.message(f"skipped {shown(job.source.name)}: its stems exist in "
                             f"{shown(job.out_dir)}{os.sep} (use --overwrite to replace)")
            self.tally.skipped += 1
        except KeyboardInterrupt as exc:
            from stemsplit.cli.signals import describe, exit_code

            progress.clear()
            progress.message(f"{describe(exc)}: {shown(job.source.name)} left unwritten",
                             error=True)
            self.interrupted = exit_code(exc)
            return False
        except StemsplitError as exc:
            progress.file_done(seconds)
            text, given = str(exc), shown(job.source)
            message = text if given in text or shown(job.source.name) in text \
                else f"{given}: {text}"
            progress.message(f"error: {message}", error=True)
            if args.debug:
                traceback.print_exc()
            self.tally.failed += 1
            if self.separator is None and not _is_input_error(exc):
                return False  # the model itself cannot load: every input would fail
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
            progress.file_done(seconds)
            progress.message(f"error: {shown(job.source)}: unexpected {type(exc).__name__}: "
                             f"{shown(exc)}"
                             + ("" if args.debug else " (run with --debug for details)"),
                             error=True)
            if args.debug:
                traceback.print_exc()
            self.tally.failed += 1
        finally:
            if created:  # a failed song leaves no empty folder behind
                with contextlib.suppress(OSError):
                    os.rmdir(job.out_dir)
        return True

    def _split_locked(self, job: Job, index: int, seconds: float) -> tuple[float, float]:
        from stemsplit.core.audio.commit import sweep_folder
        from stemsplit.core.audio.disk import _folder_message
        from stemsplit.core.audio.read import check_regular_file
        from stemsplit.core.audio.song_folder import FolderLock
        from stemsplit.core.errors import AudioWriteError

        check_regular_file(job.source)  # before a folder is made for it
        lock = FolderLock(job.out_dir, on_wait=lambda pid: self.progress.message(
            f"waiting: another stemsplit run{f' (process {pid})' if pid else ''} is writing "
            f"to {shown(job.out_dir)}{os.sep}"))
        try:
            lock.__enter__()
        except OSError as exc:
            raise AudioWriteError(_folder_message(job.out_dir, exc)) from exc
        try:
            sweep_folder(job.out_dir, held=True)  # what a killed run left: nobody else writes
            started = time.perf_counter()
            length = self._split(job, index, seconds)
            return length, time.perf_counter() - started
        finally:
            lock.__exit__(None, None, None)

    def _split(self, job: Job, index: int, seconds: float) -> float:
        from stemsplit.core.audio.song_folder import describe_source, read_record

        args, options, info = self.args, self.options, self.info
        try:
            mine = describe_source(job.source, info.name)
        except OSError:
            mine = None  # loading says why
        # a <rate> in the names needs the file's real rate: then _separate_one decides
        outputs = output_paths(options, job, self.wanted, info, options.rate or 44100)
        _check_same_song(job, read_record(job.out_dir), mine, outputs, args.overwrite)
        job.kept = kept(outputs, args.overwrite)
        if len(job.kept) == len(outputs) and not _names_need_rate(options):
            raise _AllExist
        if self.separator is None:
            from stemsplit.core.engine.separator import EngineOptions
            from stemsplit.core.models.registry import load_separator

            self.separator = load_separator(info, device=args.device,
                                            options=EngineOptions(precision=args.precision,
                                                                  wiener_iterations=args.wiener))
            self.progress.message(f"precision: {self.separator.precision.describe()}")
        length = self._separate_one(job, index, seconds)
        if mine is not None:
            from stemsplit.core.audio.song_folder import write_record

            write_record(job.out_dir, mine)
        return length

    def _separate_one(self, job: Job, index: int, seconds: float) -> float:
        """Separate one file, streaming the stems to temporary files that are renamed into
        place together at the end (all or none); returns the song's duration."""
        from stemsplit.cli.export import StemStreamWriter
        from stemsplit.cli.write_behind import WriteBehind
        from stemsplit.core.audio.read import load_audio
        from stemsplit.core.audio.write import check_writable

        args, options, separator = self.args, self.options, self.separator
        audio = load_audio(job.source, downmix=args.downmix)
        for note in audio.notes:
            self.progress.message(f"warning: {note}")
        seconds = seconds or audio.duration_s
        outputs = output_paths(options, job, self.wanted, separator.info, audio.sample_rate)
        job.kept = kept(outputs, args.overwrite)  # never replaced without --overwrite
        if len(job.kept) == len(outputs):
            raise _AllExist
        outputs = {s: p for s, p in outputs.items() if s not in job.kept}
        check_writable(job.out_dir, needed_bytes(audio, options, len(outputs)))
        writer = StemStreamWriter(outputs, audio.sample_rate, audio.channels, audio.frames,
                                  options, args.overwrite)
        try:
            with WriteBehind(writer) as behind:  # the next chunk runs while one is written
                for p in separator.iter_separate(audio.samples, audio.sample_rate):
                    if p.stems is not None:
                        behind.write(p.stems.audio)
                    self.progress.update(index, shown(job.source.name), p.fraction, seconds,
                                         p.eta_s)
                behind.drain()
            writer.commit()
            for stem, count in writer.clipped.items():
                self.progress.message(
                    f"warning: {shown(outputs[stem].name)}: {count} samples above full scale "
                    "were clipped (use --peaks normalise or --bit-depth 32f)")
        finally:
            writer.abort()  # no-op once committed; removes temporary files otherwise
        return audio.duration_s


def needed_bytes(audio, options, n_stems: int) -> int:
    """Disk space the stems take at most (and their float spools under ``normalise``)."""
    from stemsplit.core.audio.write import estimate_bytes

    frames = audio.frames * (options.rate or audio.sample_rate) // audio.sample_rate + 1
    each = estimate_bytes(frames, audio.channels, options.fmt)
    if options.peaks == "normalise":
        each += frames * audio.channels * 4
    return each * n_stems


def _check_same_song(job: Job, record, mine, outputs: dict[str, Path], overwrite: bool) -> None:
    """Refuse to mix the stems of two different songs (or models) that share a folder name.

    Raises:
        AudioWriteError: the folder's stems were made from another song or model.
    """
    from stemsplit.core.errors import AudioWriteError

    if overwrite or record is None or mine is None or record.same_song(mine):
        return
    if not any(p.is_file() for p in outputs.values()):
        return  # nothing of the other song's would be kept
    what = (f"another song ({shown(record.path)})" if record.head_sha256 != mine.head_sha256
            or record.size != mine.size else f"the {record.model} model")
    raise AudioWriteError(
        f"{shown(job.out_dir)}{os.sep} holds stems made from {what}; nothing was written. "
        "Use another output folder (-o) or a --name-pattern that keeps them apart "
        "(e.g. '<song> - <stem> (<model>)'), or --overwrite to replace them")


def parse_stems(text: str | None, stems: tuple[str, ...]) -> tuple[str, ...]:
    from stemsplit.core.errors import StemsplitError

    if text is None:
        return stems
    wanted = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    unknown = [s for s in wanted if s not in stems]
    if unknown or not wanted:
        raise StemsplitError(f"unknown stem(s) {', '.join(map(shown, unknown)) or '(none given)'}"
                             f"; this model has: {', '.join(stems)}")
    return wanted


def _is_input_error(exc: Exception) -> bool:
    from stemsplit.core.errors import AudioLoadError, AudioWriteError

    return isinstance(exc, (AudioLoadError, AudioWriteError))


def output_paths(options, job: Job, wanted, info, sample_rate: int) -> dict[str, Path]:
    """Stem -> path, each checked to lie inside the output folder and not to be an input.

    Raises:
        AudioWriteError: this file's stems cannot go there (a path too long, a link
            leading out of the output folder, an input of the batch, clashing names,
            a folder where a stem file should be).
    """
    from stemsplit.cli.export import stem_paths
    from stemsplit.core.errors import AudioWriteError, StemsplitError

    try:
        outputs = stem_paths(options, job.out_dir, job.source.stem, wanted, info.stems,
                             info.name, sample_rate)
        for path in outputs.values():
            if job.guard is not None:
                job.guard.check(path)
            if os.path.lexists(path) and not path.is_file():
                raise AudioWriteError(f"{shown(path)} is a folder (or another non-file) where "
                                      "a stem file should be; move it away and run again")
    except AudioWriteError:
        raise
    except (StemsplitError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise AudioWriteError(f"{shown(job.source)}: cannot write its stems to "
                              f"{shown(job.out_dir)}: {reason}") from exc
    return outputs


def kept(outputs: dict[str, Path], overwrite: bool) -> tuple[str, ...]:
    """The stems whose files exist and are left as they are (all of them are replaced only
    with --overwrite); the others are written."""
    return () if overwrite else tuple(s for s, p in outputs.items() if p.is_file())


def _names_need_rate(options) -> bool:
    return options.rate is None and re.search(r"<\s*rate\s*>", options.pattern, re.I) is not None
