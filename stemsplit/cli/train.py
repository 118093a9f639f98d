"""`stemsplit train DATA --out NAME`: fine-tune a U-Net on your own stems."""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from stemsplit.cli.progress import bar, format_duration

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_train_command(sub) -> None:
    p = sub.add_parser(
        "train", help="fine-tune a U-Net on your own stems",
        description="Fine-tune the built-in U-Net (or another Spleeter-family model, or one "
                    "from scratch) on tracks with isolated stems, and install the result as "
                    "a model for 'stemsplit separate --model NAME' and the window.")
    p.add_argument("data", nargs="+", type=Path,
                   help="folders of tracks: MUSDB18 .stem.mp4 files, MUSDB18-HQ folders, or "
                        "folders holding a mix and one file per stem")
    p.add_argument("--out", required=True, metavar="NAME", help="the new model's name")
    p.add_argument("--stems", default=None,
                   help="comma-separated stems to learn (default: the base model's, or "
                        "vocals,accompaniment)")
    p.add_argument("--from", dest="base", default="2stems", metavar="MODEL",
                   help="start from this installed Spleeter-family model (default 2stems, "
                        "the built-in one), or 'scratch'")
    p.add_argument("--valid", default="0.2",
                   help="a folder of validation tracks, or the fraction of tracks to hold "
                        "out (default 0.2; 0 for none)")
    p.add_argument("--steps", type=int, default=2000, help="optimiser steps (default 2000)")
    p.add_argument("--batch-size", type=int, default=4, help="windows per step (default 4)")
    p.add_argument("--frames", type=int, default=512,
                   help="STFT frames per window, a multiple of 64 (default 512 = 11.9 s)")
    p.add_argument("--lr", type=float, default=1e-4, help="Adam's learning rate (1e-4)")
    p.add_argument("--eval-every", type=int, default=100,
                   help="steps between validations and checkpoints (default 100)")
    p.add_argument("--patience", type=int, default=5,
                   help="stop after this many validations without a better SDR (default 5)")
    p.add_argument("--freeze-encoder", action="store_true",
                   help="train only the decoder (for a handful of tracks)")
    p.add_argument("--no-augment", action="store_true",
                   help="no random gains, channel swaps or remixing across tracks")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                   help="network arithmetic: auto = bf16 where the hardware has native bf16")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto",
                   help="where to train (default: auto = CUDA, then MPS, then CPU)")
    p.add_argument("--resume", action="store_true",
                   help="continue the checkpointed run of --out exactly where it stopped")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    p.set_defaults(handler=run_train)


@contextmanager
def _signals_cancel(cancel: threading.Event):
    """Ctrl+C, SIGTERM and SIGHUP ask the run to stop after the current step (so the
    checkpoint is consistent); a second one stops at once."""
    def handler(signum, frame):
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print("\nstemsplit: stopping after this step and saving a checkpoint "
              "(press again to stop at once)", file=sys.stderr)

    names = ["SIGINT", "SIGTERM", "SIGHUP"]
    sigs = [getattr(signal, n) for n in names if hasattr(signal, n)]
    old = {s: signal.signal(s, handler) for s in sigs}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _valid_arg(text: str) -> float | Path:
    try:
        value = float(text)
    except ValueError:
        return Path(text)
    if not (math.isfinite(value) and 0 <= value < 1):
        raise ValueError("--valid takes a folder or a fraction in [0, 1)")
    return value


def run_train(args: argparse.Namespace) -> int:
    from stemsplit.core.errors import Cancelled, StemsplitError

    try:
        return _train(args)
    except Cancelled:
        print(f"stemsplit: training stopped; 'stemsplit train ... --out {args.out} --resume' "
              "continues it", file=sys.stderr)
        return 130
    except (StemsplitError, ValueError) as exc:
        if args.debug:
            raise
        print(f"stemsplit: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ValueError) else EXIT_FAILED


def _train(args: argparse.Namespace) -> int:
    from stemsplit.core.training import report
    from stemsplit.core.training.setup import TrainRequest, describe, prepare

    stems = tuple(s.strip() for s in args.stems.split(",")) if args.stems else None
    request = TrainRequest(
        data=tuple(args.data), name=args.out, base=args.base, stems=stems,
        valid=_valid_arg(args.valid), steps=args.steps, batch_size=args.batch_size,
        frames=args.frames, learning_rate=args.lr, eval_every=args.eval_every,
        patience=args.patience, freeze_encoder=args.freeze_encoder,
        augment=not args.no_augment, seed=args.seed, precision=args.precision,
        device=args.device, resume=args.resume)
    trainer = prepare(request)
    for note in request.notes:
        print(f"stemsplit: {note}", file=sys.stderr)
    print(describe(trainer), file=sys.stderr)
    if args.resume:
        print(f"resuming {args.out} at step {trainer.step}", file=sys.stderr)
    cancel = threading.Event()
    with _signals_cancel(cancel):
        for p in trainer.iter_train(cancel):
            _show(p)
    out = report.write_curves(trainer.folder() / "training.png", trainer.card()["history"],
                              f"{args.out}: {', '.join(trainer.config.stems)}")
    best = trainer.best_sdr
    sdr = ", ".join(f"{k} {v:.2f} dB" for k, v in best.items()) if best else "not measured"
    curves = f"curves in {out}" if out else "no curves drawn (matplotlib is not installed)"
    print(f"\ninstalled {args.out} (step {trainer.best_step}, validation SDR {sdr}); "
          f"{curves}\nuse it: stemsplit separate SONG --model {args.out}")
    return EXIT_OK


def _show(p) -> None:
    stream = sys.stderr
    if p.valid_sdr is not None:
        sdr = ", ".join(f"{k} {v:.2f}" for k, v in p.valid_sdr.items())
        mark = " (best, saved)" if p.best else ""
        stop = "; no better for a while: stopping early" if p.stopped_early else ""
        stream.write(f"\rstep {p.step}: validation loss {p.valid_loss:.4f}, SDR {sdr} dB"
                     f"{mark}{stop}\n")
        return
    text = (f"\rstep {p.step}/{p.steps} {bar(p.step / max(1, p.steps))} loss {p.loss:.4f} "
            f"left {format_duration(p.eta_s)}")
    stream.write(text if stream.isatty() else text.lstrip("\r") + "\n")
    stream.flush()
