#!/usr/bin/env bash
# The README's second command: set up and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# DuckDB 1.x and pyarrow beside .venv, for the tests that open what is published as analysts'
# tools do. Without PyPI those tests are skipped and say why; in CI (CI set) that is a failure.
if ! bash scripts/setup-duckdb1.sh; then
  [ -z "${CI:-}" ] || { echo "scripts/setup-duckdb1.sh failed (CI must have the DuckDB 1.x clients)." >&2; exit 1; }
  echo "WARNING: could not make .venv-duckdb1/; the tests with DuckDB 1.x clients will be skipped." >&2
fi
# Lint first (pyproject.toml [tool.ruff]): seconds, and a failure says exactly where.
.venv/bin/ruff check sos_pipeline bench scripts tests
# Two workers (pytest-xdist), one test file each at a time (module fixtures build once), taken in
# the order tests/conftest.py gives (heavy modules first; xdist would otherwise order files by
# their number of tests): on 2 cores the suite takes about two thirds of its time on one.
# SOS_TEST_WORKERS=0 runs it serially.
exec .venv/bin/python -m pytest -q -n "${SOS_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
