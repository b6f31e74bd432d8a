"""A warehouse built by the previous release is upgraded on its first refresh.

The previous release is the commit before the one-loading-path change (PREVIOUS): its code is
taken out of git and run, as a coordinator's installation of it would, to load one month;
then this release refreshes the same data folder with a second month. The upgrade
(sql/schema/upgrade.sql, warehouse/db.ensure_schema) drops the staging tables, adds what is
new (derived.build_state), and loses nothing: the first month stays loaded, the audit keeps
its row.
"""
from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from sos_pipeline import cli, config
from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import clean_tables

from conftest import TEST_KEY, one_project

pytestmark = pytest.mark.heavy(15)   # seconds on one core: run early (tests/conftest.py)

PREVIOUS = "55ae81b"        # the last commit with the staging path (release 0.1.0 as installed)


def _has_commit() -> bool:
    r = subprocess.run(["git", "-C", str(config.REPO_ROOT), "cat-file", "-e", f"{PREVIOUS}^{{commit}}"],
                       capture_output=True)
    return r.returncode == 0


@pytest.mark.skipif(not _has_commit(), reason=f"commit {PREVIOUS} is not in this clone's history")
def test_a_warehouse_of_the_previous_release_is_upgraded_on_the_first_refresh(tmp_path, monkeypatch, capsys):
    old = tmp_path / "previous"
    old.mkdir()
    archive = subprocess.run(["git", "-C", str(config.REPO_ROOT), "archive", PREVIOUS, "sos_pipeline", "sql",
                              ".dagster_home"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    data = tmp_path / "data"
    (tmp_path / "home").mkdir()
    env = dict(os.environ, SOS_DATA_DIR=str(data), SOS_PSEUDONYM_KEY=TEST_KEY,
               DAGSTER_HOME=str(tmp_path / "home"), SOS_DAGSTER_LOG_LEVEL="CRITICAL")
    env.pop("SOS_ENV", None)
    writers.write_csv_utf8(data / "inbox", "BAU_2016-03", clean_tables("BAU", 2016, 3))
    one_project(data)               # 3 funder extracts for the refresh below, not 26
    # its refresh job (the extracts, which it would build next, are beside the point here)
    code = ("from dagster import DagsterInstance; from sos_pipeline.definitions import build_definitions; "
            "assert build_definitions().resolve_job_def('refresh').execute_in_process("
            "instance=DagsterInstance.get()).success")
    r = subprocess.run([sys.executable, "-c", code], cwd=old, env=dict(env, PYTHONPATH=str(old)),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    con = duckdb.connect(str(data / ".work" / "warehouse.duckdb"), read_only=True)
    try:   # what the previous release built: staging tables, no build_state
        schemas = {s for (s,) in con.execute("SELECT DISTINCT schema_name FROM duckdb_tables()").fetchall()}
        before = con.execute("SELECT count(*) FROM core.services").fetchone()[0]
    finally:
        con.close()
    assert "staging" in schemas and before > 0

    writers.write_csv_utf8(data / "inbox", "BAU_2016-04", clean_tables("BAU", 2016, 4))
    for k in ("SOS_DATA_DIR", "SOS_PSEUDONYM_KEY", "DAGSTER_HOME"):     # this release: `sos-pipeline refresh`
        monkeypatch.setenv(k, env[k])
    monkeypatch.delenv("SOS_ENV", raising=False)
    assert cli.main(["refresh"]) == 0
    assert "BAU_2016-04      accepted" in capsys.readouterr().out
    for db in (data / ".work" / "warehouse.duckdb", data / "warehouse.duckdb"):
        con = duckdb.connect(str(db), read_only=True)
        try:
            schemas = {s for (s,) in con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()}
            assert "staging" not in schemas
            assert con.execute("SELECT step FROM derived.build_state ORDER BY 1").fetchall() == [
                ("indicators",), ("indicators_context",), ("publish",)]
            assert con.execute("SELECT strftime(month, '%Y-%m'), count(*) > 0 FROM core.services "
                               "GROUP BY 1 ORDER BY 1").fetchall() == [("2016-03", True), ("2016-04", True)]
            assert con.execute("SELECT delivery, status FROM audit.deliveries ORDER BY 1").fetchall() == [
                ("BAU_2016-03", "accepted"), ("BAU_2016-04", "accepted")]
        finally:
            con.close()
