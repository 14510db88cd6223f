#!/usr/bin/env bash
# Creates .venv (if missing) and installs budgetkg with its test dependencies.
# torch is installed first, pinned to the CPU build, so sentence-transformers does not pull a
# multi-GB CUDA build. pip's chatter goes to .venv/install.log and is shown only on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv and installing budgetkg (a few minutes the first time)..." >&2
  "$PY" -m venv .venv
fi
LOG=.venv/install.log
run() {
  if ! "$@" >>"$LOG" 2>&1; then
    echo "install failed: $*  (log: $LOG)" >&2
    tail -40 "$LOG" >&2
    exit 1
  fi
}
: >"$LOG"
run .venv/bin/python -m pip install -q --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  run .venv/bin/python -m pip install -q "torch==2.13.0"
fi
run .venv/bin/python -m pip install -q -e ".[test]"
