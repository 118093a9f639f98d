"""`stemsplit models list | install NAME [--from FILE...] [--config YAML] | remove NAME |
path [NAME] | ensemble ...`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 2, 130


def add_models_command(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``models`` command; its parsed args carry ``handler(args) -> exit code``."""
    p = sub.add_parser(
        "models", help="list, download, remove models",
        description="Manage separation models. Downloaded models are converted once and "
                    "then work offline.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="show the models and whether they are installed")
    install = actions.add_parser(
        "install", help="download (or take from a file), verify and convert a model",
        description="Download a model from its publisher (Spleeter's releases, demucs's "
                    "files), check its SHA-256 and convert it. Offline, download the files "
                    "elsewhere and pass them with --from. Models whose weights come with "
                    "licence terms (HT-Demucs: research use only) ask you to accept them "
                    "first. Your own RoFormer checkpoint installs under a name you choose: "
                    "'models install my-vocals --from my.ckpt my.yaml'.")
    install.add_argument("name", nargs="?", default=None,
                         help="model name, e.g. 4stems or htdemucs; for your own RoFormer "
                              "checkpoint, the name to give it")
    install.add_argument("--name", dest="own_name", default=None, metavar="NAME",
                         help="the name to install your own RoFormer checkpoint under "
                              "(instead of the positional NAME)")
    install.add_argument("--from", dest="source", type=Path, default=None, nargs="+",
                         metavar="FILE_OR_FOLDER",
                         help="install from an archive (NAME.tar.gz) or demucs .th file "
                              "downloaded elsewhere; for htdemucs_ft, the folder with its "
                              "four .th files; for a RoFormer, its .ckpt and .yaml. A "
                              ".ckpt and .yaml under a name stemsplit does not know "
                              "install your own RoFormer under that name")
    install.add_argument("--config", dest="config", type=Path, default=None, metavar="YAML",
                         help="a RoFormer checkpoint's .yaml config (or pass it in --from)")
    install.add_argument("--accept-licence", "--accept-license", dest="accept_licence",
                         action="store_true",
                         help="accept the model's licence terms (shown by 'models list') "
                              "without being asked")
    remove = actions.add_parser("remove", help="delete a downloaded model")
    remove.add_argument("name")
    ensemble = actions.add_parser(
        "ensemble", help="save or remove an ensemble preset (several models combined)",
        description="Save models combined as one, e.g. 'models ensemble save vox "
                    "2stems+2stems-16kHz@max_spec'. Members are joined by '+', each may "
                    "carry a weight ('A*2+B'), the method follows '@': avg (default), "
                    "max_spec or min_spec. The preset is then a model name everywhere.")
    ensemble.add_argument("verb", choices=["save", "remove"])
    ensemble.add_argument("name")
    ensemble.add_argument("spec", nargs="?", default=None, help="A+B[@method] (for save)")
    path = actions.add_parser("path", help="print where downloaded models are kept")
    path.add_argument("name", nargs="?", default=None)
    p.set_defaults(handler=run_models)
    return p


def run_models(args: argparse.Namespace, out: TextIO | None = None,
               err: TextIO | None = None) -> int:
    """Carry out one ``models`` action; messages go to ``out``/``err`` (stdout/stderr)."""
    from stemsplit.core.errors import StemsplitError

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        if args.action == "list":
            return _list(out)
        if args.action == "path":
            return _path(args.name, out)
        if args.action == "ensemble":
            return _ensemble(args.verb, args.name, args.spec, out)
        if args.action == "install":
            name, source = _install_args(args)
            if _is_own(name, source):
                return _install_own(name, source, out, err)
            return _install(name, source, out, err, getattr(args, "accept_licence", False))
        return _remove(args.name, out)
    except StemsplitError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FAILED


def _install_args(args: argparse.Namespace) -> tuple[str, list[Path] | None]:
    from stemsplit.core.errors import ModelError

    own = getattr(args, "own_name", None)
    if args.name is not None and own is not None and own != args.name:
        raise ModelError("give the model's name once: NAME or --name NAME")
    name = args.name or own
    if name is None:
        raise ModelError("say which model to install, e.g. 'models install htdemucs', or "
                         "name your own RoFormer: 'models install --name NAME --from "
                         "CKPT --config YAML'")
    source = list(args.source) if args.source else None
    config = getattr(args, "config", None)
    if config is not None:
        source = [*(source or []), config]
    return name, source


def _is_own(name: str, source: list[Path] | None) -> bool:
    """Whether this install is of the user's own RoFormer (a name stemsplit does not know,
    or one the user gave their own checkpoint before)."""
    from stemsplit.core.errors import ModelError
    from stemsplit.core.models.registry import get_model

    try:
        info = get_model(name)
    except ModelError:
        if source is None:
            raise ModelError(f"unknown model {name!r} (see 'stemsplit models list'); to "
                             f"install your own RoFormer checkpoint as {name}, pass its "
                             "files: --from CKPT YAML") from None
        return True
    from stemsplit.core.models.roformer import custom

    return info.family == "roformer" and info.licence == custom.LICENCE


def _install_own(name: str, source: list[Path] | None, out: TextIO, err: TextIO) -> int:
    from stemsplit.core.models import install as model_install
    from stemsplit.core.models.registry import get_model
    from stemsplit.core.models.roformer import custom

    line = _DownloadLine(err)
    try:
        folder = model_install.install_own_roformer(name, source or [], progress=line.update)
    except KeyboardInterrupt as exc:
        from stemsplit.cli.signals import describe, exit_code

        line.finish()
        print(f"{describe(exc)}; nothing was installed", file=err)
        return exit_code(exc)
    finally:
        line.finish()
    info = get_model(name)
    print(f"installed {name} in {folder}: {info.title}, separating "
          f"{', '.join(info.stems)}; {custom.LICENCE}", file=out)
    return EXIT_OK


def _downloadable(name: str):
    from stemsplit.core.errors import ModelError
    from stemsplit.core.models.registry import get_model

    info = get_model(name)
    if info.archive is None:
        raise ModelError(f"{name} is built in; there is nothing to install or remove")
    return info


def _list(out: TextIO) -> int:
    from stemsplit.core.models import licences
    from stemsplit.core.models.registry import list_models
    from stemsplit.core.models.roformer.custom import LICENCE as own_licence

    pending: list[str] = []
    models = list_models()
    width = max(len(m.name) for m in models)
    for info in models:
        if info.summary is not None:
            status = "trained"
        elif info.family == "ensemble":
            status = "ensemble" + ("" if info.is_installed() else " (a model is missing)")
        elif info.licence == own_licence:
            status = "installed (your own checkpoint)"
        elif info.archive is None:
            status = "built in"
        elif info.is_installed():
            status = "installed"
        else:
            size = f", ~{info.download_mb} MB" if info.download_mb else ""
            status = f"not installed (stemsplit models install {info.name}{size})"
        print(f"{info.name:{width}} {', '.join(info.stems):40} {status}", file=out)
        if info.summary is not None:
            print(f"{'':{width}} {info.summary}", file=out)
        if info.licence == own_licence:
            print(f"{'':{width}} {info.title}; {own_licence}", file=out)
        if info.licence_key is not None:
            accepted = licences.is_accepted(info.licence_key)
            state = "accepted" if accepted else "to accept before downloading: --accept-licence"
            print(f"{'':{width}} licence: {info.licence} ({state})", file=out)
            terms = info.licence_terms or info.licence
            if not accepted and terms not in pending:
                pending.append(terms)
    for terms in pending:
        print(f"terms: {terms}", file=out)
    return EXIT_OK


def _ensemble(verb: str, name: str, spec: str | None, out: TextIO) -> int:
    from stemsplit.core.errors import ModelError
    from stemsplit.core.models.ensemble import catalogue
    from stemsplit.core.models.ensemble import spec as ensemble_spec

    if verb == "remove":
        found = ensemble_spec.remove_preset(name)
        print(f"removed {name}" if found else f"no ensemble named {name}", file=out)
        return EXIT_OK
    if spec is None:
        raise ModelError("say which models to combine, e.g. 'models ensemble save NAME A+B'")
    parsed = ensemble_spec.parse(spec)
    from stemsplit.core.models.registry import get_model

    info = catalogue.info_for(name, parsed, get_model)  # members must exist and share a stem
    ensemble_spec.save_preset(name, parsed)
    print(f"saved {name}: {parsed.text()} -> {', '.join(info.stems)}", file=out)
    return EXIT_OK


def _path(name: str | None, out: TextIO) -> int:
    from stemsplit.core.models import store as model_store

    if name is None:
        print(model_store.models_dir(), file=out)
    else:
        print(model_store.model_dir(_downloadable(name).archive), file=out)
    return EXIT_OK


def _remove(name: str, out: TextIO) -> int:
    from stemsplit.core.models import install as model_install

    if model_install.remove(name):
        print(f"removed {name}", file=out)
    else:
        print(f"{name} was not installed", file=out)
    return EXIT_OK


def _install(name: str, source: list[Path] | Path | None, out: TextIO, err: TextIO,
             accept_licence: bool = False) -> int:
    from stemsplit.core.models import install as model_install

    _downloadable(name)
    terms = None if accept_licence else model_install.needs_licence_acceptance(name)
    if terms is not None:
        if not sys.stdin.isatty():
            print(f"error: {name}'s weights come with licence terms you have not accepted:\n"
                  f"{terms}\nRun 'stemsplit models install {name} --accept-licence' to "
                  "accept them.", file=err)
            return EXIT_FAILED
        print(f"{terms}\n", file=err)
        err.write("Accept these terms and download? [y/N] ")
        err.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print("not accepted; nothing was downloaded", file=err)
            return EXIT_FAILED
        accept_licence = True
    line = _DownloadLine(err)
    try:
        folder = model_install.install(name, source=source, progress=line.update,
                                       accept_licence=accept_licence)
    except KeyboardInterrupt as exc:  # Ctrl+C, SIGTERM, SIGHUP (see cli_signals)
        from stemsplit.cli.signals import describe, exit_code

        line.finish()
        if source is None and line.downloaded:
            print(f"{describe(exc)}; nothing was installed. 'stemsplit models install {name}' "
                  "again resumes the download", file=err)
        else:
            print(f"{describe(exc)}; nothing was installed", file=err)
        return exit_code(exc)
    finally:
        line.finish()
    print(f"installed {name} in {folder}", file=out)
    return EXIT_OK


def format_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


class _DownloadLine:
    """One redrawn progress line on a terminal; a few plain lines otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._open = False
        self._last_plain = 0.0
        self._stage = ""
        self.downloaded = False  # whether any bytes came over the network (a part to resume)

    def update(self, report) -> None:
        if report.stage != "download":
            if report.stage != self._stage:
                self.finish()
                print(f"{report.stage}...", file=self.stream)
            self._stage = report.stage
            return
        self.downloaded = self.downloaded or report.done > 0
        total = f" of {format_size(report.total)}" if report.total else ""
        percent = f" {report.fraction:4.0%}" if report.fraction is not None else ""
        text = (f"downloading{percent} {format_size(report.done)}{total} "
                f"at {format_size(report.speed_bps)}/s")
        if self.tty:
            self.stream.write("\r" + text.ljust(60))
            self.stream.flush()
            self._open = True
        elif time.monotonic() - self._last_plain >= 5 or report.done == report.total:
            self._last_plain = time.monotonic()
            print(text, file=self.stream)

    def finish(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
