"""What the coordinator sees in the Dagster UI after `sos-pipeline refresh` of the sample data,
read from the Dagster instance's event log (the build in conftest.py is a real CLI run).

Hand-counted from the sample (sos_pipeline/sample/generator.py and `sos-pipeline sample-data`'s
own summary): 140 deliveries; 135 load (BAU_2014-03 twice: the correction supersedes the first
version); 5 are rejected, of which two name a centre-month that is a partition: VAL_2013-10
(VAL was not active yet) and VAL_2015-02 (two services rules). The other three (a malformed name,
an unknown centre, a month not yet ended) have no partition to show on.
"""
from __future__ import annotations

import re

import duckdb
import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance


@pytest.fixture
def instance(sample_warehouse, monkeypatch):
    """The build's Dagster instance, opened as the UI opens it: through DAGSTER_HOME."""
    monkeypatch.setenv("DAGSTER_HOME", str(sample_warehouse.parent.parent / "dagster_home"))
    with DagsterInstance.get() as instance:
        yield instance


def _refresh_run(instance):
    (run,) = [r for r in instance.get_runs() if r.job_name == "refresh"]
    return run


def test_every_settled_centre_month_shows_its_check_and_load(sample_warehouse, instance):
    run = _refresh_run(instance)
    checks = [r.event_log_entry.dagster_event.event_specific_data for r in instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION, limit=10_000).records]
    mats = [r.event_log_entry.dagster_event.event_specific_data.materialization
            for r in instance.get_records_for_run(
                run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=10_000).records]
    validation = [c for c in checks if c.check_name == "validation"]
    assert all(c.asset_key == AssetKey("core_delivery") and c.blocking for c in validation)
    assert len(validation) == 137                                     # 135 loaded + 2 rejected
    failed = {c.partition: c for c in validation if not c.passed}
    assert set(failed) == {"VAL|2013-10", "VAL|2015-02"}
    assert failed["VAL|2015-02"].metadata["by_suite"].value["services"]["errors"] == {
        "services.service.in_set": 1, "services.minutes.range": 1}
    assert failed["VAL|2013-10"].description == "Rejected at intake: intake.before_active."
    assert all(c.severity.value == "ERROR" for c in failed.values())
    core = [m for m in mats if m.asset_key == AssetKey("core_delivery")]
    assert len(core) == 135 and len({m.partition for m in core}) == 134
    bau_03 = [m for m in core if m.partition == "BAU|2014-03"]
    assert [m.metadata["status"].value for m in bau_03] == ["accepted", "accepted (replaces BAU_2014-03)"]
    # every loaded partition: rows per table, sha256 and a preview; none of them holds a ref
    con = duckdb.connect(str(sample_warehouse), read_only=True)
    try:
        accepted = dict(con.execute("SELECT centre || '|' || strftime(month, '%Y-%m'), sha256 "
                                    "FROM audit.deliveries WHERE status = 'accepted'").fetchall())
        refs = {r[0] for r in con.execute("SELECT family_ref FROM core.families").fetchall()}
    finally:
        con.close()
    latest = {m.partition: m for m in core}
    assert {k: m.metadata["sha256"].value for k, m in latest.items()} == accepted
    for m in core:
        rows = m.metadata["rows_loaded"].value
        assert re.search(r"\| families \| [1-9]\d* \|", rows), rows
        assert m.metadata["total_rows_loaded"].value > 0
        preview = m.metadata["preview"].value
        assert "| service | contacts | families | hours |" in preview
        assert not any(ref in preview for ref in refs)


def test_the_run_tags_say_what_the_cli_printed(sample_warehouse, instance):
    log = (sample_warehouse.parent.parent / "build.log").read_text(encoding="utf-8", errors="replace")
    printed = {m.group(1): m.group(2) for m in re.finditer(r"^  (accepted|superseded|unchanged|rejected) +(\d+)$",
                                                           log, re.MULTILINE)}
    assert printed == {"accepted": "134", "superseded": "1", "unchanged": "0", "rejected": "5"}
    tags = _refresh_run(instance).tags
    assert {k: tags[f"sos/{k}"] for k in printed} == printed
    assert tags["sos/trigger"] == "cli"
