"""`stemsplit evaluate`: score models, oracles or files against reference stems (BSS Eval v4).

Exit codes: 0 every track scored, 1 some tracks failed, 2 none scored or the
command line was wrong.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_PARTIAL, EXIT_FAILED = 0, 1, 2
FULL_SET = ("drums", "bass", "other")


def add_evaluate_command(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``evaluate``; its parsed args carry ``handler(args) -> exit code``."""
    from stemsplit.core.evaluation.oracle import ORACLES

    p = sub.add_parser(
        "evaluate", help="score separations against reference stems (SDR, SIR, SAR, ISR)",
        description="Separate each track of DATA with a model (or read estimates another tool "
                    "wrote) and score the stems against the references with BSS Eval v4 "
                    "(as museval) and the MDX global SDR. DATA: a MUSDB18 folder "
                    "(<track>.stem.mp4), a MUSDB18-HQ folder (<track>/mixture.wav, "
                    "vocals.wav, ...) or a folder with a mix file and one file per stem.")
    p.add_argument("data", type=Path, help="folder (searched recursively) or .stem.mp4 file")
    p.add_argument("--model", action="append", default=None, metavar="NAME",
                   help="separate with this model and score it (repeat to compare models; "
                        "default 2stems unless --estimates is given)")
    p.add_argument("--estimates", type=Path, default=None, metavar="DIR",
                   help="score files already written: DIR/<track>/<stem>.wav")
    p.add_argument("--oracle", action="append", choices=list(ORACLES), default=None,
                   help="also score ideal masks from the references on the same STFT "
                        "(irm, ibm, wiener): the upper bound of mask-based models")
    p.add_argument("--wiener", default=None, metavar="N[,N...]",
                   help="Wiener post-filter EM iterations for models and estimates; several "
                        "values score each (e.g. 0,1,2); default: each model's own")
    p.add_argument("--stems", default=None, help="comma-separated stems to score "
                   "(default: the model's, or every stem with an estimate)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    p.add_argument("--json", type=Path, default=None, metavar="FILE",
                   help="write every score to FILE as JSON ('-': standard output)")
    p.add_argument("--csv", type=Path, default=None, metavar="FILE",
                   help="write one row per track and stem to FILE ('-': standard output)")
    p.add_argument("--report", type=Path, default=None, metavar="PNG",
                   help="write box plots and SDR over time to this PNG")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--quiet", "-q", action="store_true", help="print errors and the table only")
    p.set_defaults(handler=run_evaluate)
    return p


def _wiener_values(text: str | None) -> list[int | None]:
    if text is None:
        return [None]
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"--wiener takes whole numbers like 1 or 0,1,2, not {text!r}") from None
    if any(v < 0 or v > 20 for v in values):
        raise ValueError("--wiener iterations must be between 0 and 20")
    return values


def _check_outputs(args: argparse.Namespace) -> str | None:
    import importlib.util

    if args.report is not None and importlib.util.find_spec("matplotlib") is None:
        return "the PNG report needs matplotlib, which this installation lacks " \
            "(pip install matplotlib); --json and --csv work without it"
    for path in (args.json, args.csv, args.report):
        if path is None or str(path) == "-":
            continue
        if path.exists() and not args.overwrite:
            return f"{path} exists; pass --overwrite to replace it"
        if not path.parent.is_dir():
            return f"{path.parent} is not a folder"
    return None


def run_evaluate(args: argparse.Namespace) -> int:
    from stemsplit.core.errors import StemsplitError
    from stemsplit.core.evaluation.datasets import find_tracks

    err = _check_outputs(args)
    try:
        wiener = _wiener_values(args.wiener)
    except ValueError as exc:
        err = str(exc)
    if err:
        print(f"stemsplit evaluate: {err}", file=sys.stderr)
        return EXIT_FAILED
    if not args.model and args.estimates is None:
        from stemsplit.core.models.registry import DEFAULT_MODEL

        args.model = [DEFAULT_MODEL]
    try:
        tracks = find_tracks(args.data)
        separators = _load_models(args.model or [], args.device)
    except StemsplitError as exc:
        print(f"stemsplit evaluate: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.estimates is not None and not args.estimates.is_dir():
        print(f"stemsplit evaluate: {args.estimates}: not a folder of estimates", file=sys.stderr)
        return EXIT_FAILED
    from stemsplit.cli.progress import ProgressLine

    wanted = tuple(s.strip() for s in args.stems.split(",")) if args.stems else None
    progress = ProgressLine(len(tracks), len(tracks), quiet=args.quiet)
    results, failed = [], 0
    for i, track in enumerate(tracks, 1):
        try:
            rows = _evaluate_track(i, track, args, separators, wiener, wanted, progress)
        except StemsplitError as exc:
            failed += 1
            progress.message(f"[{i}/{len(tracks)}] {track.name}: {exc}", error=True)
            progress.file_done(1)
            continue
        results.extend(rows)
        progress.file_done(1)
        for r in rows:
            cells = "  ".join(f"{stem} {s['SDR']:.2f}" for stem, s in r.scores.items())
            progress.message(f"[{i}/{len(tracks)}] {track.name} - {r.method}: SDR {cells}")
    if not results:
        print("stemsplit evaluate: no track could be scored", file=sys.stderr)
        return EXIT_FAILED
    _write_outputs(results, args)
    return EXIT_PARTIAL if failed else EXIT_OK


def _load_models(names: list[str], device: str) -> list:
    from stemsplit.core.engine.separator import EngineOptions
    from stemsplit.core.models.registry import get_model, load_separator

    out = []
    for name in names:
        info = get_model(name)
        if not info.is_installed():
            from stemsplit.core.errors import ModelError

            raise ModelError(f"{name} is not installed; 'stemsplit models install {name}' "
                             "fetches it")
        # Separate once without the post-filter; each --wiener value refines that result.
        out.append(load_separator(info, device=device, options=EngineOptions(
            wiener_iterations=0)))
    return out


def _evaluate_track(index, track, args, separators, wiener, wanted, progress) -> list:
    from stemsplit.core.errors import DatasetError
    from stemsplit.core.evaluation.datasets import find_estimates, load_estimates
    from stemsplit.core.evaluation.scoring import score_track

    rows = []
    methods: list[tuple[str, tuple[str, ...], object]] = []
    for sep in separators:
        stems = _stems_for(track, wanted or sep.stems, sep.info.name)
        methods.append((sep.info.name, stems, sep))
    if args.estimates is not None:
        stems = wanted or tuple(s for s in track.stems
                                if s in find_estimates(args.estimates, track.name))
        if not stems:
            raise DatasetError(f"no estimates for it in {args.estimates} (expected "
                               f"{args.estimates / track.name}/<stem>.wav)")
        methods.append(("estimates", stems, None))
    all_stems = tuple(dict.fromkeys(s for _, st, _ in methods for s in st)) or \
        wanted or track.stems
    # Oracles need every reference (a partition of the mixture); models only theirs.
    audio = track.load(None if args.oracle else tuple(s for s in all_stems if s in track.stems))
    for name, stems, sep in methods:
        started = time.perf_counter()
        if sep is None:
            est = load_estimates(args.estimates, track.name, stems, audio.sample_rate,
                                 audio.mixture.shape)
        else:
            est = _separate(sep, audio, index, progress)
        took = time.perf_counter() - started
        for n in wiener:
            n_eff = (getattr(sep.info, "wiener_iterations", 0) if sep else 0) if n is None else n
            refined = _refine(est, audio, n_eff)
            label = name if n_eff == 0 else f"{name} + wiener {n_eff}"
            r = score_track(track.name, label, {s: audio.references[s] for s in stems},
                            {s: refined[s] for s in stems}, audio.sample_rate)
            r.seconds = took
            rows.append(r)
    for method in args.oracle or ():
        stems = tuple(s for s in (all_stems if methods else track.stems) if s in audio.references)
        est = _oracle(method, audio, stems, track)
        rows.append(score_track(track.name, f"oracle {method}", {s: audio.references[s]
                                                                 for s in stems},
                                est, audio.sample_rate))
    return rows


def _stems_for(track, stems, model: str) -> tuple[str, ...]:
    from stemsplit.core.errors import DatasetError

    have = tuple(s for s in stems if s in track.stems)
    if not have:
        raise DatasetError(f"its references ({', '.join(track.stems)}) include none of "
                           f"{model}'s stems ({', '.join(stems)})")
    return have


def _separate(sep, audio, index, progress) -> dict:
    stems = sep.separate(audio.mixture, audio.sample_rate, on_progress=lambda p: progress.update(
        index, f"{sep.info.name}: {audio.name}", p.fraction, 1, p.eta_s))
    progress.clear()
    return stems.stems


def _refine(est: dict, audio, iterations: int) -> dict:
    if iterations <= 0:
        return est
    from stemsplit.core.engine.postfilter import refine_stems

    return refine_stems(est, audio.mixture, iterations, audio.sample_rate)


def _oracle(method: str, audio, stems: tuple[str, ...], track) -> dict[str, object]:
    """Oracle estimates of ``stems`` from a partition of the mixture that contains them."""
    from stemsplit.core.evaluation.oracle import oracle_separate

    refs = audio.references
    partition = list(stems)
    derive_acc = "accompaniment" in stems and any(s in stems for s in FULL_SET)
    if derive_acc:
        partition.remove("accompaniment")
        if "vocals" not in partition:
            partition.append("vocals")
    sources = {s: refs[s] for s in partition}
    covered = {"vocals", "accompaniment"} <= set(partition) or \
        set(track.stems) - {"accompaniment"} <= set(partition)
    if not covered:
        sources["rest"] = audio.mixture - sum(sources.values())
    est = oracle_separate(audio.mixture, sources, method)
    if derive_acc:
        est["accompaniment"] = audio.mixture - est["vocals"]
    return {s: est[s] for s in stems}


def _write_outputs(results: list, args: argparse.Namespace) -> None:
    from stemsplit.core.evaluation.report import (
        format_table,
        plot_report,
        to_csv,
        to_json,
        write_atomically,
    )
    from stemsplit.core.evaluation.scoring import aggregate

    summaries = aggregate(results)
    print(format_table(summaries), file=sys.stdout if args.json != Path("-") and
          args.csv != Path("-") else sys.stderr, flush=True)
    for path, make in ((args.json, lambda: to_json(results, summaries)),
                       (args.csv, lambda: to_csv(results)),
                       (args.report, lambda: plot_report(results))):
        if path is None:
            continue
        if str(path) == "-":
            sys.stdout.write(make())
            continue
        write_atomically(path, make())
        if not args.quiet:
            print(f"wrote {path}", file=sys.stderr)
