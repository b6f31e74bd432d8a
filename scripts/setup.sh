#!/usr/bin/env bash
# Set up this checkout: a virtual environment with the pinned dependencies and a
# persistent DAGSTER_HOME. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3.12 python3.13 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(not (3,11) <= sys.version_info[:2] < (3,14))'; then PY=$c; break; fi
  done
fi
[ -n "$PY" ] || { echo "Python 3.11-3.13 is needed (python3.11 on PATH)." >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $($PY --version)..."
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "Installing pinned dependencies (requirements.lock)..."
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
  rm -f .venv/.installed-*; touch "$stamp"
fi
mkdir -p .dagster_home
