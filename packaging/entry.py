"""Entry point of the frozen application (PyInstaller runs this as ``__main__``).

It only hands over to ``stemsplit.cli.main``, the same function the
``stemsplit`` console script runs, so the frozen app and an installed one
behave alike: no arguments open the window, ``--self-test`` runs the headless
self-test, ``separate ...`` works headless.
"""

import multiprocessing
import sys


def main() -> int:
    """Run the command line (or, without a CLI module, the self-test / the window)."""
    try:
        from stemsplit.cli.main import main as cli_main
    except ModuleNotFoundError as exc:
        if exc.name not in ("stemsplit.cli", "stemsplit.cli.main"):
            raise
        cli_main = None
    if cli_main is not None:
        return cli_main()
    # Only for a tree where the cli package is not written yet: keep the build testable.
    args = sys.argv[1:]
    if args == ["--self-test"]:
        from stemsplit.selftest import run_self_test

        return run_self_test()
    from stemsplit.gui.app import run

    return run(args)


if __name__ == "__main__":
    # torch and the standard library may start helper processes; in a frozen app
    # they re-run this executable, and freeze_support() routes them correctly.
    multiprocessing.freeze_support()
    sys.exit(main())
