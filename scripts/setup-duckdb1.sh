#!/usr/bin/env bash
# The clients analysts have, for tests/test_analyst_clients.py: DuckDB 1.x (most of the tools that
# open warehouse.duckdb are built on it) and a Parquet reader that is not DuckDB (pyarrow).
# Made once in .venv-duckdb1/ (apart from .venv/, which has DuckDB 2.0); safe to run again:
#   .venv-duckdb1/              duckdb 1.5.6 (the newest 1.x), the 1.5.6 command line (duckdb-cli,
#                               .venv-duckdb1/bin/duckdb), pandas and pyarrow
#   .venv-duckdb1/duckdb-1.4/   duckdb 1.4.5 (the newest 1.4, the oldest release the published
#                               file is written for), used with PYTHONPATH=.venv-duckdb1/duckdb-1.4
# Needs PyPI. Exits non-zero when it cannot make them (scripts/test.sh decides what that means).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=.venv-duckdb1
PINS=(duckdb==1.5.6 duckdb-cli==1.5.6 pandas==3.1.1 pyarrow==26.0.1
      numpy==2.4.6 python-dateutil==2.9.0.post0 six==1.17.0 tzdata==2026.6)
OLDEST=duckdb==1.4.5
stamp=$DIR/.installed-$(printf '%s\n' "${PINS[@]}" "$OLDEST" | sha256sum | cut -c1-16)
[ -f "$stamp" ] && exit 0
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
echo "Creating $DIR (DuckDB 1.x clients for the tests)..."
rm -rf "$DIR"
"$PY" -m venv "$DIR"
pip=("$DIR/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all:)
"${pip[@]}" "${PINS[@]}"
"${pip[@]}" --no-deps --target "$DIR/duckdb-1.4" "$OLDEST"
touch "$stamp"
