#!/usr/bin/env bash
# Set up (first run only) and run every check: lint, architecture contracts, the test suite.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/core -x).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test || { echo "test: set-up failed" >&2; exit 1; }
export QT_QPA_PLATFORM=offscreen PYQTGRAPH_QT_LIB=PySide6
status=0
echo "== ruff"
.venv/bin/ruff check stemsplit tests benchmarks scripts packaging || status=1
echo "== import contracts"
.venv/bin/lint-imports || status=1
echo "== pytest"
.venv/bin/python -m pytest "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "test: pytest collected no tests; that counts as a failure" >&2
  rc=1
fi
[[ $rc -ne 0 ]] && status=1
exit $status
