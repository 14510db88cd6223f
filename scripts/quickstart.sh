#!/usr/bin/env bash
# Sets budgetkg up and runs the main job on the bundled sample disclosures:
# install, ingest the five samples into ./.budgetkg, show what went in, run a SPARQL query,
# and answer a question.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export BUDGETKG_HOME="${BUDGETKG_HOME:-$PWD/.budgetkg}"
BKG=.venv/bin/budgetkg
$BKG ingest --samples
echo; echo "== What the graph holds"; $BKG info
echo; echo "== Total budget by county and year (SPARQL)"
$BKG sparql @examples/queries/totals_by_county.rq
echo; echo "== Accounting findings"; $BKG check || true
echo; echo "== budgetkg ask \"which counties fund long-term care insurance\""
$BKG ask "which counties fund long-term care insurance"
echo; echo "Store and index: $BUDGETKG_HOME   (export BUDGETKG_HOME=$BUDGETKG_HOME to keep using them)"
