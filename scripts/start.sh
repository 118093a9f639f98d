#!/usr/bin/env bash
# Set up (first run only) and open the stemsplit window; extra arguments go to stemsplit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/stemsplit "$@"
