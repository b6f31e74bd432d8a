"""Nothing new, nothing done — and anything new is seen (sos_pipeline/warehouse/state.py).

A refresh with nothing new computes no indicator, does not copy warehouse.duckdb again and
starts no extracts run. A delivery that is only rejected changes no accepted month, yet
reporting.completeness must then say "rejected" for its month: the refresh sees it.
"""
from __future__ import annotations

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from sos_pipeline import cli
from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import clean_tables

from conftest import one_project

pytestmark = pytest.mark.heavy(10)   # seconds on one core: run early (tests/conftest.py)


def _completeness(data, month: str) -> str:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("SELECT status FROM reporting.completeness WHERE centre = 'BAU' "
                           "AND strftime(month, '%Y-%m') = ?", [month]).fetchone()[0]
    finally:
        con.close()


def test_nothing_new_is_skipped_and_a_rejection_is_still_seen(data_dir, capsys, monkeypatch):
    monkeypatch.setenv("SOS_TODAY", "2016-06-20")
    one_project(data_dir)
    writers.write_csv_utf8(data_dir / "inbox", "BAU_2016-03", clean_tables("BAU", 2016, 3))
    assert cli.main(["refresh"]) == 0
    first = capsys.readouterr().out
    assert "BAU_2016-03      accepted" in first
    assert _completeness(data_dir, "2016-04") == "missing"
    published = (data_dir / "warehouse.duckdb").stat()

    # Nothing new: nothing computed, nothing copied, no extract computed.
    assert cli.main(["refresh"]) == 0
    again = capsys.readouterr().out
    assert "Funder extracts: all built since the published warehouse last changed; nothing to do." in again
    assert (data_dir / "warehouse.duckdb").stat().st_ino == published.st_ino
    with DagsterInstance.get() as instance:
        latest = instance.get_latest_materialization_event(AssetKey("indicator_values"))
        assert latest.asset_materialization.metadata["unchanged"].value is True
        base = instance.fetch_materializations(AssetKey("reporting_base"), limit=10).records
        assert len(base) == 1                   # built by the first refresh only
        # no extracts run at all: the published warehouse's data version did not change
        assert [r.job_name for r in instance.get_runs()].count("extracts") == 1

    # A rejected delivery changes no accepted month, and still changes what is published.
    bad = clean_tables("BAU", 2016, 4)
    bad["services"][0]["minutes"] = 601
    writers.write_csv_utf8(data_dir / "inbox", "BAU_2016-04", bad)
    assert cli.main(["refresh"]) == 0
    third = capsys.readouterr().out
    assert "BAU_2016-04      rejected" in third
    assert "Funder extracts in " in third        # what is published changed: the extracts run again
    assert _completeness(data_dir, "2016-04") == "rejected"
    assert (data_dir / "warehouse.duckdb").stat().st_ino != published.st_ino
