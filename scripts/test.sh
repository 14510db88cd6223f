#!/usr/bin/env bash
# The test command: installs what is needed (idempotent) and runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python -m pytest -q "$@"
