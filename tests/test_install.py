"""A plain (non-editable) `pip install` works: the SQL files, the catalogue, the labels, the
reference data and the Dagster instance settings ship inside the package.

The package is installed with pip from this checkout into a folder of its own (its
dependencies come from .venv), and `sos-pipeline refresh` runs from there, with the checkout
out of reach: from another working directory, with that folder first on the path.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from sos_pipeline import config
from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import clean_tables

from conftest import TEST_KEY, one_project

pytestmark = pytest.mark.heavy(17)   # seconds on one core: run early (tests/conftest.py)


@pytest.mark.skipif(os.environ.get("SOS_OFFLINE") == "1", reason="pip needs the package registry (setuptools)")
def test_a_non_editable_install_refreshes(tmp_path):
    target = tmp_path / "site"
    built = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
                            "--disable-pip-version-check", "--target", str(target), str(config.REPO_ROOT)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    assert (target / "sos_pipeline" / "sql" / "indicators" / "served.sql").is_file()
    assert (target / "sos_pipeline" / "indicators" / "catalogue.yaml").is_file()
    assert (target / "sos_pipeline" / "reference" / "projects.yaml").is_file()
    data = tmp_path / "data"
    writers.write_csv_utf8(data / "inbox", "BAU_2016-03", clean_tables("BAU", 2016, 3))
    one_project(data)   # 3 funder extracts, not 26 (the shipped centres.yaml is still read from the install)
    env = dict(os.environ, PYTHONPATH=str(target), SOS_DATA_DIR=str(data), SOS_PSEUDONYM_KEY=TEST_KEY,
               DAGSTER_HOME=str(tmp_path / "home"))
    env.pop("SOS_ENV", None)
    code = ("import sos_pipeline, sys; from sos_pipeline.warehouse.db import SQL_DIR; "
            "print(sos_pipeline.__file__); print(SQL_DIR); "
            "sys.argv = ['sos-pipeline', 'refresh']; from sos_pipeline.cli import run; run()")  # the console script
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    where, sql_dir = r.stdout.splitlines()[:2]
    assert Path(where).is_relative_to(target) and Path(sql_dir) == target / "sos_pipeline" / "sql"
    assert "BAU_2016-03      accepted" in r.stdout
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM reporting.indicator_values").fetchone()[0] > 0
    finally:
        con.close()
    assert (tmp_path / "home" / "dagster.yaml").read_text() == \
        (config.REPO_ROOT / ".dagster_home" / "dagster.yaml").read_text()
