"""Command line: `stemsplit` opens the window; `stemsplit separate ...` runs headless.

The separate command itself is in :mod:`stemsplit.cli.separate`.

Exit codes of `separate`: 0 every input succeeded (or was skipped because its
outputs exist), 1 some inputs failed, 2 every input failed or the command line
was wrong, 130 interrupted (Ctrl+C), 143 terminated (SIGTERM), 129 hung up (SIGHUP);
temporary files are removed in every one of these cases.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from stemsplit import __version__

EXIT_OK, EXIT_PARTIAL, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_separate_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from stemsplit.core.audio.write import BIT_DEPTHS, FORMATS
    from stemsplit.core.models.registry import DEFAULT_MODEL

    p = sub.add_parser(
        "separate", help="split audio files into stems",
        description="Split songs into stems. Writes OUT/<song name>/<stem>.<ext> per input.")
    p.add_argument("inputs", nargs="+", type=_given_path, help="audio files or folders "
                   "(searched recursively for audio files)")
    p.add_argument("-o", "--output", type=_given_path, default=Path("separated"),
                   help="output folder (default: ./separated)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL};"
                   " see 'stemsplit models list')")
    p.add_argument("--format", choices=list(FORMATS), default="wav", help="default: wav")
    p.add_argument("--bit-depth", choices=list(BIT_DEPTHS), default="24",
                   help="16 (TPDF-dithered), 24 or 32f float (default: 24)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto",
                   help="where the network runs (default: auto = CUDA, then MPS, then CPU)")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto",
                   help="the network's number format (default: auto = bf16 on CPUs with native "
                        "bf16 units and on GPUs that have it, fp16 on other GPUs, else fp32); "
                        "STFT and masks stay fp32")
    p.add_argument("--stems", default=None,
                   help="comma-separated stems to write (default: all), e.g. vocals")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing stems (default: keep them, write only the "
                        "missing ones; skip songs whose stems all exist)")
    p.add_argument("--wiener", type=int, default=None, metavar="N",
                   help="refine the stems with N EM iterations of a multichannel Wiener "
                        "filter (0: off; default: the model's own, off for every model)")
    p.add_argument("--downmix", action="store_true",
                   help="fold files with more than two channels to stereo instead of refusing")
    from stemsplit.cli.export import add_export_arguments

    add_export_arguments(p)
    p.add_argument("--quiet", "-q", action="store_true", help="print errors only")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    return p


def _given_path(text: str) -> Path:
    # Path("") is "." : an empty variable in a script would split the whole current folder.
    if not text:
        raise argparse.ArgumentTypeError("an empty name was given (an unset variable in a "
                                         "script?); name a file or folder, e.g. '.'")
    return Path(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stemsplit",
        description="Split songs into stems. With no command, opens the window "
                    "(optionally with FILE loaded).")
    parser.add_argument("--version", action="version", version=f"stemsplit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    build_separate_parser(sub)
    from stemsplit.cli.evaluate import add_evaluate_command

    add_evaluate_command(sub)
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
        usage="stemsplit [FILE] | stemsplit separate ... | stemsplit models ... | "
              "stemsplit evaluate ... | stemsplit train ...",
        description="Open the stemsplit window, optionally with FILE loaded. "
                    "Commands: 'separate' (headless batch splitting), 'models' (manage models), "
                    "'evaluate' (score separations against reference stems), 'train' (fine-tune "
                    "a model on your own stems). "
                    "'stemsplit COMMAND --help' for details.")
    parser.add_argument("files", nargs="*", help="a song to open")
    parser.add_argument("--version", action="version", version=f"stemsplit {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="separate a few seconds of the demo song headless and check it")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The console script's entry (``argv=None``: the process's own arguments).

    Called with ``argv``, as tests do, it only returns the exit code.
    """
    from_console = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    from stemsplit.logfile import setup as log_to_file

    log_to_file()  # window and commands alike: "details are in the log" names the file
    commands = {"separate", "models", "evaluate", "train"}
    if argv and argv[0] in commands:
        from stemsplit.cli.console import guarded_output

        # Ctrl+C may come while modules still import (the first seconds): a line, no traceback.
        try:
            with guarded_output():
                code = _run_command(argv)
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):
                print("stemsplit: interrupted", file=sys.stderr)
            code = EXIT_INTERRUPTED
        if from_console and argv[0] == "separate":
            _leave_now(code)
        return code
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


def _leave_now(code: int) -> None:
    """End the process without the interpreter's teardown (0.3-0.4 s after a separation:
    torch's thousands of modules and the thread pools). By now every stem is renamed into
    place and every file closed; only the log and the standard streams still hold
    buffers, and they are flushed first. Never in-process callers (``main(argv)``)."""
    import logging
    import os

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _run_command(argv: list[str]) -> int:
    from stemsplit.cli.signals import describe, exit_code, terminate_as_interrupt

    try:
        with terminate_as_interrupt():  # SIGTERM/SIGHUP clean up like Ctrl+C
            args = build_parser().parse_args(argv)
            if args.command == "separate":
                from stemsplit.cli.separate import run_separate

                return run_separate(args)
            return args.handler(args)
    except KeyboardInterrupt as exc:
        print(f"stemsplit: {describe(exc)}", file=sys.stderr)
        return exit_code(exc)
