"""A refresh recomputes only the periods its deliveries can touch, and gets the full build's numbers.

Real refreshes (the `refresh` job the sensor and the schedule start, in this process) over real
CSV deliveries, one after the
other: a first load, a correction of an old month that moves a family's first day served (which
the project's later active-caseload figures depend on), a new month with a correction adding an
exit, a rejected delivery with a mentoring correction, and revised reference data. After each, the published
reporting.indicator_values and reporting.target_progress must be, row for row, what a build of
every period from the same warehouse gives (sos_pipeline/indicators/build.py with `since` None),
and the build must have recomputed only the periods ending on or after the earliest month that
changed (sos_pipeline/indicators/incremental.py).
"""
from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from sos_pipeline import reference
from sos_pipeline.definitions import build_definitions
from sos_pipeline.indicators.build import build_base, build_family, build_values, load_reference
from sos_pipeline.indicators.catalogue import families
from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import clean_tables

from conftest import one_project

pytestmark = pytest.mark.heavy(27)   # seconds on one core: run early (tests/conftest.py)

TODAY = dt.date(2016, 6, 20)
LATE = "B-0903"           # a family served in February only (then still listed, never served)


def _bau(year: int, month: int) -> dict:
    t = clean_tables("BAU", year, month)
    if (year, month) != (2016, 2):
        for table in ("services", "group_attendance", "event_participants"):
            t[table] = [r for r in t[table] if r["family_ref"] != LATE]
    return t


def _deliver(data, name: str, tables: dict) -> None:
    writers.write_csv_utf8(data / "inbox", name, tables)


def _refresh(data) -> dict:
    """The `refresh` job, as the inbox sensor and the nightly schedule start it (the CLI adds the
    funder extracts, which nothing here looks at): each delivery's status in the audit."""
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    with DagsterInstance.get() as instance:
        r = build_definitions().resolve_job_def("refresh").execute_in_process(
            instance=instance, run_config=quiet, raise_on_error=False)
    assert r.success
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        return dict(con.execute("SELECT delivery, status FROM audit.deliveries "
                                "QUALIFY row_number() OVER (PARTITION BY delivery ORDER BY received_at DESC) = 1"
                                ).fetchall())
    finally:
        con.close()


def _rows(con, table: str) -> Counter:
    return Counter(con.execute(f"SELECT * FROM reporting.{table}").fetchall())


def _check_against_full_build(data, tmp_path, today: dt.date = TODAY, working: bool = False) -> int:
    """The published (or working) file's indicators equal a build of every period from the same
    data; returns how many indicator rows there are."""
    copy = tmp_path / "full.duckdb"
    shutil.copy(data / ".work" / "warehouse.duckdb" if working else data / "warehouse.duckdb", copy)
    con = duckdb.connect(str(copy))
    try:
        published = {t: _rows(con, t) for t in ("indicator_values", "target_progress")}
        load_reference(con, reference.load(data))
        build_base(con, today=today)
        for f in families():
            build_family(con, f)
        build_values(con)
        for table, rows in published.items():
            full = _rows(con, table)
            assert rows == full, (table, "published only:", sorted((rows - full).elements(), key=repr)[:5],
                                  "full build only:", sorted((full - rows).elements(), key=repr)[:5])
        return sum(published["indicator_values"].values())
    finally:
        con.close()


def _computed() -> tuple[str, str]:
    """What the last indicator build says it computed (the indicator_values materialisation)."""
    with DagsterInstance.get() as instance:
        md = instance.get_latest_materialization_event(AssetKey("indicator_values")).asset_materialization.metadata
        return md["periods_computed"].value, md["why"].value


def _active_end(data, month: str) -> int:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT value FROM reporting.indicator_values WHERE indicator = 'families_active_end' "
            "AND project = 'BAU-FS' AND centre = 'BAU' AND period = ?", [month]).fetchone()[0]
    finally:
        con.close()


def test_each_refresh_recomputes_what_it_can_touch_and_equals_the_full_build(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SOS_TODAY", TODAY.isoformat())
    one_project(data_dir)
    for y, m in ((2015, 11), (2015, 12), (2016, 1), (2016, 2), (2016, 3), (2016, 4)):
        _deliver(data_dir, f"BAU_{y}-{m:02d}", _bau(y, m))
    for m in (1, 2, 3):
        _deliver(data_dir, f"VAL_2016-{m:02d}", clean_tables("VAL", 2016, m))
    assert set(_refresh(data_dir).values()) == {"accepted"}
    assert _computed()[0] == "every period"
    rows = _check_against_full_build(data_dir, tmp_path)
    assert rows > 1000
    # B-0903 was served by the project in February: still active (listed, not exited) in April.
    assert _active_end(data_dir, "2016-04") == 3

    # 1. A correction of February without B-0903's activity: it was never served by the project,
    #    so it leaves the project's active caseload of every later month. Periods ending before
    #    February are not recomputed.
    feb = _bau(2016, 2)
    for table in ("services", "group_attendance", "event_participants"):
        feb[table] = [r for r in feb[table] if r["family_ref"] != LATE]
    _deliver(data_dir, "BAU_2016-02", feb)
    assert _refresh(data_dir)["BAU_2016-02"] == "accepted"
    assert _computed() == ("ending on or after 2016-02-01", "1 centre-month(s) changed since the last build")
    assert _active_end(data_dir, "2016-04") == 2
    _check_against_full_build(data_dir, tmp_path)

    # 2. A new month for Valmiera and a correction of Bauska's March with an exit in it.
    _deliver(data_dir, "VAL_2016-04", clean_tables("VAL", 2016, 4))
    mar = _bau(2016, 3)
    mar["families"][0].update(exited_on=dt.date(2016, 3, 15), exit_reason="independent")
    _deliver(data_dir, "BAU_2016-03", mar)
    out = _refresh(data_dir)
    assert out["VAL_2016-04"] == out["BAU_2016-03"] == "accepted"
    assert _computed()[0] == "ending on or after 2016-03-01"
    _check_against_full_build(data_dir, tmp_path)

    # 3. A rejected delivery (no accepted row changes, reporting.completeness does) and a mentoring
    #    correction (the pair's mentor changes in its latest listing but one), in one refresh.
    bad = _bau(2016, 5)
    bad["services"][0]["minutes"] = 601
    _deliver(data_dir, "BAU_2016-05", bad)
    val = clean_tables("VAL", 2016, 2)
    val["mentoring"][0]["mentor_ref"] = "VM-02"
    _deliver(data_dir, "VAL_2016-02", val)
    out = _refresh(data_dir)
    assert (out["BAU_2016-05"], out["VAL_2016-02"]) == ("rejected", "accepted")
    assert _computed()[0] == "ending on or after 2016-02-01"
    _check_against_full_build(data_dir, tmp_path)

    # 3b. A subset picked in the UI (one family and indicator_values, the next day) computes every
    #     period on a base computed whole, though the last build left only some periods in the
    #     derived tables: collecting the families' tables must not lose the others' rows.
    tomorrow = TODAY + dt.timedelta(days=1)
    monkeypatch.setenv("SOS_TODAY", tomorrow.isoformat())
    with DagsterInstance.get() as instance:
        r = build_definitions().resolve_job_def("publish").execute_in_process(
            instance=instance, raise_on_error=False,
            asset_selection=[AssetKey("indicators_served"), AssetKey("indicator_values")])
    assert r.success
    assert _computed()[0] == "every period"
    _check_against_full_build(data_dir, tmp_path, today=tomorrow, working=True)

    # 4. Changed reference data (a target revised) recomputes every period, as a changed day, code
    #    or SQL does: they are one fingerprint (warehouse/state.py, context_fingerprint).
    projects = data_dir / "reference" / "projects.yaml"
    projects.write_text(projects.read_text(encoding="utf-8").replace("value: 20", "value: 25"), encoding="utf-8")
    _refresh(data_dir)
    assert _computed()[0] == "every period"
    _check_against_full_build(data_dir, tmp_path, today=tomorrow)
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT DISTINCT target FROM reporting.target_progress").fetchall() == [(25,)]
    finally:
        con.close()
