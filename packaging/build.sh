#!/usr/bin/env bash
# Build the one-folder app dist/stemsplit/ (executable dist/stemsplit/stemsplit).
#
# Usage: packaging/build.sh [--clean]
#   --clean   throw away PyInstaller's cache in build/ first (a full rebuild).
#
# Uses the project's .venv (scripts/setup.sh creates it) and installs
# PyInstaller into it when missing. Runs at low CPU priority: a build takes
# minutes and should not starve whatever else runs on the machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
PYINSTALLER_VERSION="6.22.3"

if [[ ! -x "$PY" ]]; then
    echo "build.sh: $PY not found; run scripts/setup.sh first" >&2
    exit 1
fi
if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
    echo "build.sh: installing pyinstaller==$PYINSTALLER_VERSION into .venv"
    "$PY" -m pip install --quiet "pyinstaller==$PYINSTALLER_VERSION"
fi

# The version lives in pyproject.toml only; the app reads it from the installed
# metadata, which goes stale when pyproject changes after `pip install -e .`.
if ! "$PY" - <<'PYEOF'
import sys, tomllib
from importlib.metadata import version
wanted = tomllib.load(open("pyproject.toml", "rb"))["project"]["version"]
sys.exit(0 if version("stemsplit") == wanted else 1)
PYEOF
then
    echo "build.sh: refreshing stemsplit's installed metadata (version changed in pyproject.toml)"
    "$PY" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT"
fi

# Freeze exactly what pyproject.toml allows: a .venv that drifted (e.g. PySide6 6.12.0,
# which crashes the window on Python 3.11) must not end up in the bundle.
if ! "$PY" - <<'PYEOF'
import sys, tomllib
from importlib.metadata import PackageNotFoundError, version
from packaging.requirements import Requirement
wrong = []
for line in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    req = Requirement(line)
    try:
        have = version(req.name)
    except PackageNotFoundError:
        wrong.append(f"{req.name} is not installed")
        continue
    if not req.specifier.contains(have, prereleases=True):
        wrong.append(f"{req.name} {have} is installed; pyproject.toml wants {req.specifier}")
for w in wrong:
    print(f"build.sh: {w}", file=sys.stderr)
sys.exit(1 if wrong else 0)
PYEOF
then
    echo "build.sh: .venv does not match pyproject.toml; run scripts/setup.sh" \
         "(or .venv/bin/pip install -e .) and build again" >&2
    exit 1
fi

clean=()
if [[ "${1:-}" == "--clean" ]]; then
    clean=(--clean)
fi

start=$(date +%s)
nice -n 10 "$PY" -m PyInstaller "${clean[@]}" --noconfirm --log-level WARN \
    --workpath "$ROOT/build" --distpath "$ROOT/dist" "$ROOT/packaging/stemsplit.spec"
end=$(date +%s)

app="$ROOT/dist/stemsplit/stemsplit"
if [[ ! -x "$app" ]]; then
    echo "build.sh: build finished but $app is missing" >&2
    exit 1
fi
echo "build.sh: built $app in $((end - start)) s; size $(du -sh "$ROOT/dist/stemsplit" | cut -f1)"
