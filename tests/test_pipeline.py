"""End to end: real files in an inbox, real Dagster runs, a real DuckDB file on disk."""
from __future__ import annotations

import datetime as dt
import json
import os

import duckdb
import pytest

from sos_pipeline import cli, config
from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import WARNING_KINDS, clean_tables, write_bad_corpus

from conftest import one_project

pytestmark = pytest.mark.heavy(45)   # seconds on one core: run early (tests/conftest.py)

CORE = ("families", "children", "services", "group_sessions", "group_attendance", "events",
        "event_participants", "mentoring", "trainings")


@pytest.fixture
def data_dir(data_dir):
    """conftest's data folder with a one-project register: nothing here looks at the funder
    extracts, so a refresh builds 3 of them, not the shipped reference's 26."""
    return one_project(data_dir)


def published(data_dir):
    return duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)


def core_snapshot(data_dir) -> dict:
    con = published(data_dir)
    try:
        return {t: [tuple(tuple(v) if isinstance(v, list) else v for v in row)
                    for row in con.execute(f"SELECT * FROM core.{t} ORDER BY ALL").fetchall()]
                for t in CORE}
    finally:
        con.close()


def audit(data_dir):
    con = published(data_dir)
    try:
        return con.execute("SELECT delivery, status, reason FROM audit.deliveries "
                           "ORDER BY processed_at, delivery").fetchall()
    finally:
        con.close()


def drop(data_dir, name, tables, form=writers.CSV_UTF8, mtime=None, **options):
    path = writers.write_delivery(data_dir / "inbox", name, tables, form, **options)
    if mtime is not None:
        for f in [path, *writers.delivery_files(path)]:
            os.utime(f, (mtime, mtime))
    return path


def test_clean_deliveries_load_into_core_and_are_published(data_dir):
    drop(data_dir, "BAU_2016-03", clean_tables("BAU", 2016, 3))
    drop(data_dir, "VAL_2016-03", clean_tables("VAL", 2016, 3), writers.CSV_CP1257)
    drop(data_dir, "BAU_2016-04", clean_tables("BAU", 2016, 4), writers.XLSX)
    assert cli.refresh(quiet=True) == 0
    assert sorted((d, s) for d, s, _ in audit(data_dir)) == [
        ("BAU_2016-03", "accepted"), ("BAU_2016-04", "accepted"), ("VAL_2016-03", "accepted")]
    con = published(data_dir)
    rows = dict(con.execute("SELECT centre || ' ' || strftime(month, '%Y-%m'), count(*) "
                            "FROM core.services GROUP BY 1").fetchall())
    assert rows == {"BAU 2016-03": 6, "VAL 2016-03": 6, "BAU 2016-04": 6}
    # every table and column of the published file carries a comment
    from sos_pipeline.warehouse.db import uncommented
    assert uncommented(con) == []
    con.close()
    # archived byte for byte with the sha256 recorded in the audit
    assert list((data_dir / "inbox").iterdir()) == []
    con = published(data_dir)
    sha, arch = con.execute("SELECT sha256, archive_path FROM audit.deliveries "
                            "WHERE delivery = 'BAU_2016-04'").fetchone()
    con.close()
    from sos_pipeline.ingest.intake import sha256_of
    assert sha256_of(data_dir / arch) == sha


def test_correction_replaces_month_and_identical_redelivery_changes_nothing(data_dir):
    first = clean_tables("BAU", 2016, 5)
    drop(data_dir, "BAU_2016-05", first, mtime=1_500_000_000)
    corrected = clean_tables("BAU", 2016, 5)
    corrected["services"] = corrected["services"][:-2]           # two contacts withdrawn
    corrected["services"][0]["minutes"] = 95
    drop(data_dir, "BAU_2016-05", corrected, writers.XLSX, mtime=1_500_000_100)  # same name, later
    assert cli.refresh(quiet=True) == 0
    statuses = [(d, s) for d, s, _ in audit(data_dir)]
    assert statuses == [("BAU_2016-05", "superseded"), ("BAU_2016-05", "accepted")]
    con = published(data_dir)
    got = sorted(m for (m,) in con.execute("SELECT minutes FROM core.services").fetchall() if m)
    assert got == sorted(r["minutes"] for r in corrected["services"] if r.get("minutes"))
    assert 95 in got
    con.close()
    before = core_snapshot(data_dir)
    drop(data_dir, "BAU_2016-05", corrected, writers.XLSX)         # the very same bytes again
    assert cli.refresh(quiet=True) == 0
    assert core_snapshot(data_dir) == before
    assert [s for _, s, _ in audit(data_dir)][-1] == "unchanged"
    # both versions stay archived
    assert len([p for p in (data_dir / "archive" / "BAU_2016-05").iterdir() if p.is_dir()]) == 2


def _refresh_job() -> int:
    """The `refresh` job, as the inbox sensor starts it: the loading path, without the 26 funder
    extracts of the shipped project register that `sos-pipeline refresh` builds after it (nothing
    here looks at them). 0 when the run succeeds."""
    from dagster import DagsterInstance

    from sos_pipeline.definitions import build_definitions

    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    with DagsterInstance.get() as instance:
        r = build_definitions().resolve_job_def("refresh").execute_in_process(
            instance=instance, run_config=quiet, raise_on_error=False)
    return 0 if r.success else 1


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    """One refresh over the whole bad-input corpus plus two clean deliveries."""
    root = tmp_path_factory.mktemp("corpus")
    data = root / "data"
    (data / "inbox").mkdir(parents=True)
    env = {"SOS_DATA_DIR": str(data), "DAGSTER_HOME": str(root / "home"),
           "SOS_PSEUDONYM_KEY": "corpus-key"}
    (root / "home").mkdir()
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        drop(data, "BAU_2016-01", clean_tables("BAU", 2016, 1))
        assert _refresh_job() == 0
        before = core_snapshot(data)
        expected = write_bad_corpus(data / "inbox")
        drop(data, "VAL_2015-11", clean_tables("VAL", 2015, 11))
        code = _refresh_job()
        yield data, expected, before, code, root / "home"
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def test_bad_corpus_covers_every_kind_the_issue_lists(corpus_run):
    _, expected, _, _, _ = corpus_run
    kinds = {rule for _, rule in expected.values()}
    for rule in ("intake.unknown_centre", "intake.future_month", "intake.malformed_name",
                 "structure.missing_table", "structure.missing_column", "structure.unreadable",
                 "structure.undecodable", "services.date.in_month", "services.service.in_set",
                 "services.contact_id.unique", "children.family_ref.listed",
                 "services.family_ref.listed", "services.minutes.range", "privacy.pii_column",
                 "privacy.personal_code", "privacy.email", "privacy.phone",
                 "services.project.known", "services.project.centre", "services.project.window"):
        assert rule in kinds, rule


def test_each_bad_delivery_is_rejected_with_its_rule_and_loses_nothing(corpus_run):
    data, expected, before, code, _ = corpus_run
    assert code == 0                                   # rejections are outcomes, not failures
    rows = audit(data)
    status = {}
    for d, s, reason in rows:
        status.setdefault(d, []).append((s, reason or ""))
    for kind, (name, rule) in expected.items():
        delivery = name[:-5] if name.endswith(".xlsx") else name
        got = status.get(delivery)
        assert got, f"{kind}: {delivery} not in audit"
        s, reason = got[-1]
        if kind in WARNING_KINDS:
            assert s == "accepted", (kind, got)
            continue
        assert s == "rejected", (kind, got)
        assert rule in reason, (kind, reason)
        report = (data / "quarantine" / delivery / "REPORT.md").read_text(encoding="utf-8")
        assert rule in report
    # the clean delivery of the same run was still loaded
    assert status["VAL_2015-11"][-1][0] == "accepted"
    # and nothing of a rejected delivery reached core: what is there is exactly the
    # earlier state plus the two accepted deliveries of this run
    now = core_snapshot(data)
    con = published(data)
    accepted = {m for (m,) in con.execute(
        "SELECT DISTINCT centre || strftime(month, '%Y-%m') FROM audit.deliveries "
        "WHERE status = 'accepted'").fetchall()}
    con.close()
    assert accepted == {"BAU2016-01", "VAL2015-11", "VAL2016-07"}
    for t in CORE:
        old_rows = set(before[t])
        assert old_rows <= set(now[t])
        new = [r for r in now[t] if r not in old_rows]
        assert {r[0] + r[1].strftime("%Y-%m") for r in new} <= {"VAL2015-11", "VAL2016-07"}


def test_rejection_report_names_table_row_column_and_never_a_value(corpus_run):
    data, expected, _, _, _ = corpus_run
    name, _ = expected["personal_code_cell"] if "personal_code_cell" in expected else \
        next(v for k, v in expected.items() if v[1] == "privacy.personal_code")
    report = json.loads((data / "quarantine" / name / "report.json").read_text(encoding="utf-8"))
    (f,) = [f for f in report["findings"] if f["rule"] == "privacy.personal_code"]
    assert f["table"] and f["column"] and f["rows"]
    text = (data / "quarantine" / name / "REPORT.md").read_text(encoding="utf-8")
    assert "121282" not in text and "@" not in text.replace("docs/validation-rules.md", "")


def test_window_warning_loads_and_is_reported(corpus_run):
    data, expected, _, _, _ = corpus_run
    name, rule = expected["project_window"]
    con = published(data)
    got = con.execute("SELECT rule, severity, table_name FROM audit.findings WHERE delivery = ?",
                      [name]).fetchall()
    con.close()
    assert (rule, "warning", "services") in got


def test_no_clear_text_ref_anywhere_in_the_warehouse_file(corpus_run):
    data, _, _, _, home = corpus_run
    blob = (data / "warehouse.duckdb").read_bytes() + (data / ".work" / "warehouse.duckdb").read_bytes()
    # Dagster's run history (event log with all metadata, captured logs) and the quarantine too
    for folder in (home, data / "quarantine"):
        blob += b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    refs = set()
    for t in (clean_tables("BAU", 2016, 1), clean_tables("VAL", 2015, 11)):
        for rows in t.values():
            for r in rows:
                refs |= {v for k, v in r.items() if k.endswith("_ref") and v}
    assert refs and all(len(r) >= 5 for r in refs)
    # Positive control: clear-text values that do belong in the warehouse are visible to
    # this scan, so not finding a ref means it is not there (not that the scan is blind).
    con = published(data)
    ids = [r[0] for r in con.execute("SELECT contact_id FROM core.services").fetchall()]
    con.close()
    assert sum(i.encode() in blob for i in ids) >= len(ids) // 2, "the byte scan cannot see strings"
    for ref in refs:
        assert ref.encode() not in blob, ref
        assert ref.encode("utf-16-le") not in blob


def _check_evaluations(events) -> dict[str, object]:
    from dagster import DagsterEventType

    return {e.event_specific_data.partition: e.event_specific_data for e in events
            if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
            and e.event_specific_data.check_name == "validation"}


def test_blocking_checks_stop_core_for_a_bad_month_in_a_real_dagster_run(data_dir):
    """The `load_delivery` job for the centre-months the coordinator picks in the UI: the same
    loading as a refresh. A failing suite rejects the month: its `validation` check fails on its
    partition (ERROR, blocking), core keeps nothing of it, and the good month loads."""
    from dagster import AssetKey, DagsterEventType, DagsterInstance

    from sos_pipeline.definitions import build_definitions

    bad = clean_tables("BAU", 2017, 2)
    bad["services"][0]["minutes"] = 601
    drop(data_dir, "BAU_2017-02", bad)
    drop(data_dir, "BAU_2017-03", clean_tables("BAU", 2017, 3))
    drop(data_dir, "VAL_2017-03", clean_tables("VAL", 2017, 3))
    defs = build_definitions(str(data_dir))
    job = defs.resolve_job_def("load_delivery")
    with DagsterInstance.ephemeral() as instance:
        assert defs.resolve_job_def("intake").execute_in_process(instance=instance).success
        # One run for two centre-months of one centre (a range, as the UI's single-run backfill makes)
        result = job.execute_in_process(instance=instance, raise_on_error=False, tags={
            "dagster/asset_partition_range_start": "BAU|2017-02",
            "dagster/asset_partition_range_end": "BAU|2017-03"})
        assert result.success
        checks = _check_evaluations(result.all_events)
        assert set(checks) == {"BAU|2017-02", "BAU|2017-03"}
        bad_check, good_check = checks["BAU|2017-02"], checks["BAU|2017-03"]
        assert not bad_check.passed and bad_check.blocking
        assert bad_check.severity.value == "ERROR"
        by_suite = bad_check.metadata["by_suite"].value
        assert by_suite["services"] == {"result": "failed", "errors": {"services.minutes.range": 1},
                                        "warnings": {}}
        assert by_suite["families"]["result"] == "passed"
        assert by_suite["structure_and_privacy"]["result"] == "passed"
        assert bad_check.description == "Rejected: services failed."
        assert good_check.passed
        materialized = {(e.asset_key, e.event_specific_data.materialization.partition)
                        for e in result.all_events if e.event_type == DagsterEventType.ASSET_MATERIALIZATION}
        assert materialized == {(AssetKey("core_delivery"), "BAU|2017-03")}
        # what the run did, as tags: the numbers the CLI prints
        tags = instance.get_run_by_id(result.run_id).tags
        assert (tags["sos/accepted"], tags["sos/rejected"], tags["sos/superseded"]) == ("1", "1", "0")
        # VAL's delivery was not picked: it stays queued for the next refresh
        from sos_pipeline.ingest.intake import pending_list

        assert [p.delivery for p in pending_list(config.paths())] == ["VAL_2017-03"]
        # nothing picked that has something queued: the run says so
        nothing = job.execute_in_process(instance=instance, partition_key="BAU|2016-01", raise_on_error=False)
        assert not nothing.success
    con = duckdb.connect(str(data_dir / ".work" / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT DISTINCT month FROM core.services").fetchall() == [(dt.date(2017, 3, 1),)]
    assert sorted(con.execute("SELECT delivery, status FROM audit.deliveries").fetchall()) == [
        ("BAU_2017-02", "rejected"), ("BAU_2017-03", "accepted")]
    con.close()


def test_refresh_job_loads_the_whole_queue_in_one_run_and_quarantines_the_bad_one(data_dir):
    """The `refresh` job (CLI, sensor, schedule): one run validates every queued delivery at once.
    A bad month of one centre is quarantined; the good months, before and after it, load; each
    loaded centre-month shows in the UI as a materialisation of core_delivery."""
    from dagster import AssetKey, DagsterEventType, DagsterInstance

    from sos_pipeline.definitions import build_definitions

    bad = clean_tables("BAU", 2017, 2)
    bad["services"][0]["minutes"] = 601
    drop(data_dir, "BAU_2017-01", clean_tables("BAU", 2017, 1), mtime=1_700_000_000)
    drop(data_dir, "BAU_2017-02", bad, mtime=1_700_000_100)
    drop(data_dir, "BAU_2017-03", clean_tables("BAU", 2017, 3), mtime=1_700_000_200)
    drop(data_dir, "VAL_2017-02", clean_tables("VAL", 2017, 2), mtime=1_700_000_300)
    defs = build_definitions(str(data_dir))
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("refresh").execute_in_process(instance=instance)
        assert result.success
        runs = instance.get_runs()
        assert len(runs) == 1
        core = sorted(e.event_specific_data.materialization.partition for e in result.all_events
                      if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
                      and e.asset_key == AssetKey("core_delivery"))
        assert core == ["BAU|2017-01", "BAU|2017-03", "VAL|2017-02"]
        (meta,) = [m.metadata for m in result.asset_materializations_for_node("load_deliveries")
                   if m.asset_key == AssetKey("loaded_deliveries")]
        assert (meta["accepted"].value, meta["rejected"].value) == (3, 1)
        # every settled centre-month shows its check in the UI, the rejected one failed
        checks = _check_evaluations(result.all_events)
        assert {k: c.passed for k, c in checks.items()} == {
            "BAU|2017-01": True, "BAU|2017-02": False, "BAU|2017-03": True, "VAL|2017-02": True}
    assert sorted(a[:2] for a in audit(data_dir)) == [
        ("BAU_2017-01", "accepted"), ("BAU_2017-02", "rejected"), ("BAU_2017-03", "accepted"),
        ("VAL_2017-02", "accepted")]
    report = (data_dir / "quarantine" / "BAU_2017-02" / "REPORT.md").read_text(encoding="utf-8")
    assert "services.minutes.range" in report
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT DISTINCT month FROM core.services WHERE centre = 'BAU' ORDER BY 1").fetchall() \
        == [(dt.date(2017, 1, 1),), (dt.date(2017, 3, 1),)]
    con.close()
