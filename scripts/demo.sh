#!/usr/bin/env bash
# The README's first command: set up, write the sample deliveries into the inbox,
# run the refresh job on them, and say where everything is.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
.venv/bin/sos-pipeline sample-data
.venv/bin/sos-pipeline refresh
