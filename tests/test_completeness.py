"""Who has delivered (docs/indicators.md, "Completeness and timeliness"): reporting.completeness,
the reporting rates, the `deliveries_due` check and the extracts' data-quality months, against
answers worked out by hand in the comments.

Real refreshes of small hand-made deliveries (the helpers of tests/indicator_cases.py), one per
"day" of the story below. A day is two clocks:
- SOS_TODAY, the day in Riga the pipeline reads (intake: which months have ended; the
  completeness table: the last ended month; the check: which due days have passed);
- the time the refresh takes a delivery from the inbox, audit.deliveries.received_at (UTC), set
  by SOS_NOW: every delivery of a day is received, and processed, at the day's time.

Reference data (own centres.yaml and projects.yaml):
  BAU  active from 2020-12-01, due_day not given: due on the 10th of the next month
  VAL  active from 2021-01-01, due_day 5
  ISL  active from 2021-03-01, due_day not given (10)
  Q    project of BAU and VAL, 2021-01-01 .. 2021-12-31, reporting every 3 months (P1 = Jan-Mar)

The story (clock = received_at, UTC; Riga is UTC+2 in winter, UTC+3 from 28 March 2021):
  day 1  SOS_TODAY 2021-02-08, clock 2021-02-08 09:00
         BAU_2020-12 accepted, BAU_2021-01 accepted, VAL_2021-01 REJECTED (minutes 700),
         XYZ_2021-01 rejected at intake (unknown centre: centre NULL, never counted)
  day 2  SOS_TODAY 2021-02-12, clock 2021-02-12 10:00
         VAL_2021-01 again, accepted
  day 3  SOS_TODAY 2021-03-04, clock 2021-03-04 08:00
         BAU_2021-02 accepted, VAL_2021-02 accepted
  day 4  SOS_TODAY 2021-04-11, clock 2021-04-10 21:30 UTC = 2021-04-11 00:30 in Riga
         BAU_2021-02 corrected (the day-3 version becomes superseded), BAU_2021-03 accepted,
         ISL_2021-03 REJECTED; VAL sends no March
  day 5  SOS_TODAY 2021-05-03: the `publish` job run in process (indicators, publish, check);
         nothing received. The final state the tests read.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io

import dagster as dg
import duckdb
import indicator_cases as ic
import pytest

from sos_pipeline import cli, reference
from sos_pipeline.sample import writers

pytestmark = pytest.mark.heavy(15)   # seconds on one core: run early (tests/conftest.py)

D, T = dt.date, dt.datetime
BAU, VAL, ISL = "BAU", "VAL", "ISL"

CENTRES_YAML = """\
centres:
  - code: BAU
    name_lv: Bauskas SOS ģimeņu atbalsta centrs
    name_en: Bauska SOS Family Support Centre
    active_from: 2020-12-01
  - code: VAL
    name_lv: Valmieras SOS ģimeņu atbalsta centrs
    name_en: Valmiera SOS Family Support Centre
    active_from: 2021-01-01
    due_day: 5
  - code: ISL
    name_lv: Īslīces SOS ģimeņu atbalsta centrs
    name_en: Īslīce SOS Family Support Centre
    active_from: 2021-03-01
"""

PROJECTS_YAML = """\
projects:
  - code: Q
    number: null
    name_lv: Savlaicīguma tests
    name_en: Timeliness test project
    funder: Test funder
    centres: [BAU, VAL]
    start: 2021-01-01
    end: 2021-12-31
    reporting_months: 3
    suppression_threshold: 5
    budget: []
    targets: []
    manual_values: []
"""

REGISTER = {  # family_ref -> (enrolled_on, territory_type, target_group, kids)
    "B-1": (D(2020, 1, 6), "urban", "risk_family", [(1, 2015, "F")]),
    "V-1": (D(2020, 2, 3), "rural", "risk_family", [(1, 2012, "M")]),
    "I-1": (D(2020, 3, 2), "urban", "guardian", [(1, 2010, "F")]),
}
FAMILY = {BAU: "B-1", VAL: "V-1", ISL: "I-1"}


def month(centre: str, year: int, mon: int, minutes: int = 60) -> ic.Month:
    """One family listed and served once; minutes 700 breaks services.minutes.range (rejected)."""
    m = ic.Month(centre, year, mon)
    ic.listed(m, REGISTER, FAMILY[centre])
    m.svc(f"{centre}-S-{year}{mon:02d}", 3, FAMILY[centre], "social_work", minutes)
    return m


DAYS = [  # (SOS_TODAY, received_at in UTC, deliveries)
    ("2021-02-08", T(2021, 2, 8, 9, 0),
     [month(BAU, 2020, 12), month(BAU, 2021, 1), month(VAL, 2021, 1, minutes=700)]),
    ("2021-02-12", T(2021, 2, 12, 10, 0), [month(VAL, 2021, 1)]),
    ("2021-03-04", T(2021, 3, 4, 8, 0), [month(BAU, 2021, 2), month(VAL, 2021, 2)]),
    ("2021-04-11", T(2021, 4, 10, 21, 30),
     [month(BAU, 2021, 2, minutes=90), month(BAU, 2021, 3), month(ISL, 2021, 3, minutes=700)]),
]
LAST_DAY = "2021-05-03"
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


class Story:
    def __init__(self, data, codes, outputs, result):
        self.data, self.codes, self.outputs, self.result = data, codes, outputs, result
        self.con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)

    def due_line(self, day: int) -> str:
        (line,) = [x for x in self.outputs[day - 1].splitlines() if x.startswith("Deliveries due")]
        return line


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    from dagster import DagsterInstance

    from sos_pipeline.definitions import build_definitions

    root = tmp_path_factory.mktemp("completeness")
    with ic.pipeline_env(root) as data, pytest.MonkeyPatch.context() as mp:
        ref = data / "reference"
        ref.mkdir()
        (ref / "centres.yaml").write_text(CENTRES_YAML, encoding="utf-8")
        (ref / "projects.yaml").write_text(PROJECTS_YAML, encoding="utf-8")
        codes, outputs = [], []
        for n, (today, clock, deliveries) in enumerate(DAYS, 1):
            mp.setenv("SOS_TODAY", today)
            mp.setenv("SOS_NOW", clock.isoformat())
            for m in deliveries:
                writers.write_delivery(data / "inbox", m.name, m.tables, writers.CSV_UTF8)
            if n == 1:      # a name no centre has: rejected at intake, audited with centre NULL
                m = month(BAU, 2021, 1)
                writers.write_delivery(data / "inbox", "XYZ_2021-01", m.tables, writers.CSV_UTF8)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                codes.append(cli.refresh())
            outputs.append(out.getvalue())
        # Day 5: the `publish` job (indicators, publish, the check) in process, as the UI runs it.
        mp.undo()   # the real clock again (nothing is received)
        mp.setenv("SOS_TODAY", LAST_DAY)
        result = build_definitions(str(data)).resolve_job_def("publish").execute_in_process(
            instance=DagsterInstance.ephemeral(), raise_on_error=False, run_config=QUIET)
        s = Story(data, codes, outputs, result)
        yield s
        s.con.close()


# ------------------------------------------------------------------------- the deliveries

def test_every_refresh_succeeds_with_the_outcomes_of_the_story(story):
    assert story.codes == [0, 0, 0, 0]
    assert story.result.success
    got = story.con.execute("SELECT delivery, centre, status, received_at FROM audit.deliveries "
                            "ORDER BY received_at, delivery, status").fetchall()
    assert got == [
        ("BAU_2020-12", BAU, "accepted", T(2021, 2, 8, 9)),
        ("BAU_2021-01", BAU, "accepted", T(2021, 2, 8, 9)),
        ("VAL_2021-01", VAL, "rejected", T(2021, 2, 8, 9)),
        ("XYZ_2021-01", None, "rejected", T(2021, 2, 8, 9)),
        ("VAL_2021-01", VAL, "accepted", T(2021, 2, 12, 10)),
        ("BAU_2021-02", BAU, "superseded", T(2021, 3, 4, 8)),
        ("VAL_2021-02", VAL, "accepted", T(2021, 3, 4, 8)),
        ("BAU_2021-02", BAU, "accepted", T(2021, 4, 10, 21, 30)),
        ("BAU_2021-03", BAU, "accepted", T(2021, 4, 10, 21, 30)),
        ("ISL_2021-03", ISL, "rejected", T(2021, 4, 10, 21, 30)),
    ]


# ------------------------------------------------------------------- reporting.completeness

def test_completeness_has_a_row_per_centre_month_from_active_from_to_the_last_ended_month(story):
    rows = story.con.execute("SELECT * FROM reporting.completeness ORDER BY centre, month").fetchall()
    # Today 2021-05-03: the last ended month is April 2021.
    # due_on: BAU and ISL the 10th of the next month (no due_day given), VAL the 5th.
    # first_received_at: the first delivery of the month whatever became of it (VAL January: the
    #   rejected one of day 1). accepted_at: when the first accepted version was processed (its
    #   day's time), and for BAU February, whose first version was superseded on day 4, when that
    #   version was received (day 3), not when it was superseded.
    # on_time: that first accepted version received (Riga date) on or before due_on:
    #   BAU 2020-12  received 02-08 > due 01-10                     late
    #   BAU 2021-01  02-08 <= 02-10                                  on time
    #   BAU 2021-02  first version 03-04 <= 03-10 (the correction of 04-10 does not matter)  on time
    #   BAU 2021-03  04-10 21:30 UTC is 04-11 00:30 in Riga > 04-10  late (in UTC it would be on time)
    #   VAL 2021-01  rejected 02-08, accepted version received 02-12 > due 02-05   late
    #   VAL 2021-02  03-04 <= 03-05                                  on time
    #   VAL 2021-03  nothing received                                missing
    #   ISL 2021-03  rejected only                                   rejected
    #   April: nothing from anybody                                  missing
    # XYZ_2021-01 has no centre: no row anywhere.
    feb8, feb12, mar4, apr10 = T(2021, 2, 8, 9), T(2021, 2, 12, 10), T(2021, 3, 4, 8), T(2021, 4, 10, 21, 30)
    assert rows == [
        (BAU, D(2020, 12, 1), D(2021, 1, 10), feb8, feb8, "accepted", False),
        (BAU, D(2021, 1, 1), D(2021, 2, 10), feb8, feb8, "accepted", True),
        (BAU, D(2021, 2, 1), D(2021, 3, 10), mar4, mar4, "accepted", True),
        (BAU, D(2021, 3, 1), D(2021, 4, 10), apr10, apr10, "accepted", False),
        (BAU, D(2021, 4, 1), D(2021, 5, 10), None, None, "missing", False),
        (ISL, D(2021, 3, 1), D(2021, 4, 10), apr10, None, "rejected", False),
        (ISL, D(2021, 4, 1), D(2021, 5, 10), None, None, "missing", False),
        (VAL, D(2021, 1, 1), D(2021, 2, 5), feb8, feb12, "accepted", False),
        (VAL, D(2021, 2, 1), D(2021, 3, 5), mar4, mar4, "accepted", True),
        (VAL, D(2021, 3, 1), D(2021, 4, 5), None, None, "missing", False),
        (VAL, D(2021, 4, 1), D(2021, 5, 5), None, None, "missing", False),
    ]
    # the superseded version's own audit row says when it was superseded (day 4), which is why
    # accepted_at does not read it
    assert story.con.execute("SELECT processed_at FROM audit.deliveries WHERE delivery = 'BAU_2021-02' "
                             "AND status = 'superseded'").fetchone() == (apr10,)


def test_completeness_and_due_day_are_commented(story):
    cols = dict(story.con.execute(
        "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = 'reporting' "
        "AND table_name = 'completeness'").fetchall())
    assert list(cols) == ["centre", "month", "due_on", "first_received_at", "accepted_at", "status", "on_time"]
    assert all(cols.values()), cols
    assert story.con.execute("SELECT comment FROM duckdb_tables() WHERE schema_name = 'reporting' "
                             "AND table_name = 'completeness'").fetchone()[0]
    assert story.con.execute("SELECT centre, due_day FROM reporting.centres ORDER BY centre").fetchall() == [
        (BAU, 10), (ISL, 10), (VAL, 5)]


# ------------------------------------------------------------------------ reporting rates

def rate(con, indicator, centre, period) -> float:
    """Strict: a reporting rate has a row for every period with an expected month, 0 included."""
    rows = con.execute(
        "SELECT value, project, breakdown FROM reporting.indicator_values WHERE indicator = ? "
        "AND centre IS NOT DISTINCT FROM ? AND period = ?", [indicator, centre, period]).fetchall()
    assert len(rows) == 1, (indicator, centre, period, rows)
    value, project, breakdown = rows[0]
    assert (project, breakdown) == (None, None)       # ALL project only, no breakdown
    return value


def rates(con, centre, period) -> tuple[float, float]:
    return (pytest.approx(rate(con, "reporting_rate", centre, period), abs=1e-9),
            pytest.approx(rate(con, "reporting_rate_on_time", centre, period), abs=1e-9))


def test_reporting_rates_for_a_month(story):
    c = story.con
    # 2021-01: expected BAU and VAL (ISL starts in March). Both accepted; on time BAU only.
    assert rates(c, BAU, "2021-01") == (100, 100)
    assert rates(c, VAL, "2021-01") == (100, 0)
    assert rates(c, None, "2021-01") == (100, 50)             # 2 of 2; 1 of 2 on time
    assert c.execute("SELECT count(*) FROM reporting.indicator_values WHERE centre = 'ISL' "
                     "AND period = '2021-01' AND indicator LIKE 'reporting_rate%'").fetchone() == (0,)
    # 2021-03: BAU accepted (late), VAL missing, ISL rejected: 1 of 3, none on time
    assert rates(c, BAU, "2021-03") == (100, 0)
    assert rates(c, VAL, "2021-03") == (0, 0)
    assert rates(c, ISL, "2021-03") == (0, 0)
    assert rates(c, None, "2021-03") == (pytest.approx(100 / 3), 0)


def test_reporting_rates_for_a_quarter(story):
    c = story.con
    # 2021-Q1: BAU Jan (on time), Feb (on time), Mar (late): 3/3, on time 2/3
    #          VAL Jan (late), Feb (on time), Mar (missing): 2/3, on time 1/3
    #          ISL Mar (rejected): 0/1
    #          ALL: expected 3 + 3 + 1 = 7, accepted 5, on time 3
    assert rates(c, BAU, "2021-Q1") == (100, pytest.approx(200 / 3))
    assert rates(c, VAL, "2021-Q1") == (pytest.approx(200 / 3), pytest.approx(100 / 3))
    assert rates(c, ISL, "2021-Q1") == (0, 0)
    assert rates(c, None, "2021-Q1") == (pytest.approx(500 / 7), pytest.approx(300 / 7))
    # 2020-Q4: only BAU's December is expected (BAU starts in December): accepted, late
    assert rates(c, BAU, "2020-Q4") == (100, 0)
    assert rates(c, None, "2020-Q4") == (100, 0)


def test_reporting_rates_for_a_year_count_the_months_ended_after_the_data(story):
    c = story.con
    # 2021, today 2021-05-03: January to April have ended. April is expected from everyone and
    # missing everywhere, though the data (and so the month and quarter rows) end in March.
    #   BAU 4 expected, 3 accepted, 2 on time      -> 75 %, 50 %
    #   VAL 4 expected, 2 accepted, 1 on time      -> 50 %, 25 %
    #   ISL 2 expected (Mar, Apr), none             -> 0 %, 0 %
    #   ALL 10 expected, 5 accepted, 3 on time     -> 50 %, 30 %
    assert rates(c, BAU, "2021") == (75, 50)
    assert rates(c, VAL, "2021") == (50, 25)
    assert rates(c, ISL, "2021") == (0, 0)
    assert rates(c, None, "2021") == (50, 30)
    # 2020: BAU's December alone
    assert rates(c, BAU, "2020") == (100, 0)
    assert rates(c, None, "2020") == (100, 0)
    # no rows for April or 2021-Q2: the ALL scope's calendar periods end with the data (March)
    assert c.execute("SELECT count(*) FROM reporting.indicator_values WHERE indicator LIKE 'reporting_rate%' "
                     "AND period IN ('2021-04', '2021-Q2')").fetchone() == (0,)
    # and no project scope at all
    assert c.execute("SELECT count(*) FROM reporting.indicator_values WHERE indicator LIKE 'reporting_rate%' "
                     "AND project IS NOT NULL").fetchone() == (0,)


# ---------------------------------------------------------------- the deliveries_due check

def test_check_warns_naming_the_overdue_centres_and_months(story):
    # Day 5 (2021-05-03): April is not due yet anywhere (BAU, ISL 05-10; VAL 05-05), so each
    # centre's latest month past its due day is March: BAU accepted; VAL missing (due 04-05);
    # ISL rejected (due 04-10). The check warns, names VAL and ISL, and does not block.
    (e,) = [e for e in story.result.get_asset_check_evaluations() if e.check_name == "deliveries_due"]
    assert (e.passed, e.severity, e.asset_key) == (False, dg.AssetCheckSeverity.WARN, dg.AssetKey("warehouse"))
    meta = {k: v.value for k, v in e.metadata.items()}
    assert meta["missing"] == ["VAL 2021-03"]
    assert meta["rejected"] == ["ISL 2021-03"]
    assert meta["overdue_centres"] == "ISL, VAL"
    assert meta["checked_on"] == "2021-05-03"
    assert "BAU" not in e.description and "VAL 2021-03" in e.description
    assert [m.asset_key for m in story.result.get_asset_materialization_events()
            if m.asset_key == dg.AssetKey("warehouse")]      # published all the same


def test_refresh_runs_the_check_and_the_cli_says_what_it_found(story):
    # Day 1 (02-08): BAU's January is due 02-10, not yet: its latest due month is December
    # (due 01-10), accepted. VAL's January was due 02-05 and is rejected: a warning.
    assert story.due_line(1) == (
        "Deliveries due (a warning): Overdue: VAL 2021-01 (rejected, no accepted version yet, due "
        "2021-02-05). Every centre and month, with its due day and when it arrived: reporting.completeness.")
    # Day 2 (02-12): BAU January (due 02-10) and VAL January (due 02-05) accepted; ISL has no
    # month yet: it passes.
    assert story.due_line(2) == ("Deliveries due: Every centre has delivered its latest month past its "
                                 "due day (BAU, VAL 2021-01).")
    # Day 3 (03-04): February is not due yet (BAU 03-10, VAL 03-05): January again, passes.
    assert story.due_line(3).startswith("Deliveries due: Every centre")
    # Day 4 (04-11): March is due everywhere (VAL 04-05, BAU and ISL 04-10).
    assert story.due_line(4) == (
        "Deliveries due (a warning): Overdue: ISL 2021-03 (rejected, no accepted version yet, due "
        "2021-04-10); VAL 2021-03 (nothing received, due 2021-04-05). Every centre and month, with its "
        "due day and when it arrived: reporting.completeness.")


# ------------------------------------------------------------- the funder extract's months

def test_extract_data_quality_lists_each_project_centre_month_on_time_late_or_missing(story):
    path = story.data / "reports" / "Q" / "P1" / "data_quality.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    months = [(r["kind"], r["centre"], r["month"], r["detail"]) for r in rows
              if r["kind"] in ("month_on_time", "month_late", "missing_month")]
    # P1 = 2021-01..2021-03, Q's centres BAU and VAL (not ISL), up to the last delivered month
    # (March); BAU's December 2020 is before Q's window. Built on day 4 (the last refresh).
    # BAU March: accepted on 04-10 21:30 UTC, i.e. 04-11 in Riga.
    assert months == [
        ("month_on_time", BAU, "2021-01-01", "Saņemta laikā (termiņš 2021-02-10) / delivered on time (due 2021-02-10)"),
        ("month_late", VAL, "2021-01-01", "Saņemta pēc termiņa 2021-02-05, pieņemta 2021-02-12 / "
                                          "delivered late: due 2021-02-05, accepted 2021-02-12"),
        ("month_on_time", BAU, "2021-02-01", "Saņemta laikā (termiņš 2021-03-10) / delivered on time (due 2021-03-10)"),
        ("month_on_time", VAL, "2021-02-01", "Saņemta laikā (termiņš 2021-03-05) / delivered on time (due 2021-03-05)"),
        ("month_late", BAU, "2021-03-01", "Saņemta pēc termiņa 2021-04-10, pieņemta 2021-04-11 / "
                                          "delivered late: due 2021-04-10, accepted 2021-04-11"),
        ("missing_month", VAL, "2021-03-01", "Nav pieņemtas piegādes (termiņš 2021-04-05) / "
                                             "no accepted delivery (due 2021-04-05)"),
    ]
    # the reporting rates are for the ALL project: a funder's "by centre" sheet does not list them
    by_centre = (story.data / "reports" / "Q" / "P1" / "by_centre.csv").read_text(encoding="utf-8-sig")
    assert "reporting_rate" not in by_centre and "families_served" in by_centre


# ------------------------------------------------------------- reference data: due_day

def _reference(tmp_path, centres: str, projects: str = "projects: []\n"):
    ref = tmp_path / "reference"
    ref.mkdir(exist_ok=True)
    (ref / "centres.yaml").write_text(centres, encoding="utf-8")
    (ref / "projects.yaml").write_text(projects, encoding="utf-8")
    return reference.load(tmp_path)


ONE_CENTRE = "centres:\n  - {code: BAU, name_lv: B, name_en: B, active_from: 2020-12-01%s}\n"


def test_due_day_defaults_to_10_and_must_be_1_to_28(tmp_path):
    assert _reference(tmp_path, ONE_CENTRE % "").centres["BAU"].due_day == 10
    assert _reference(tmp_path, ONE_CENTRE % ", due_day: 28").centres["BAU"].due_day == 28
    for bad, why in (("0", "1-28"), ("29", "1-28"), ("'5'", "whole number"), ("5.5", "whole number")):
        with pytest.raises(reference.ReferenceError, match=why) as exc:
            _reference(tmp_path, ONE_CENTRE % f", due_day: {bad}")
        assert "centres.yaml: centre 'BAU'" in str(exc.value)


def test_a_project_target_cannot_name_a_reporting_rate(tmp_path):
    projects = ("projects:\n  - {code: P, name_lv: P, name_en: P, funder: F, centres: [BAU], "
                "start: 2021-01-01, end: 2021-12-31, reporting_months: 3,\n"
                "     targets: [{indicator: reporting_rate, value: 90, from: 2021-01-01}]}\n")
    with pytest.raises(reference.ReferenceError, match="reporting_rate.*project ALL"):
        _reference(tmp_path, ONE_CENTRE % "", projects)


def test_a_warehouse_from_before_due_day_gets_the_column(tmp_path):
    from sos_pipeline.indicators.build import load_reference
    from sos_pipeline.warehouse.db import ensure_schema, uncommented

    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    ensure_schema(con)
    con.execute("ALTER TABLE reporting.centres DROP COLUMN due_day")
    load_reference(con, _reference(tmp_path, ONE_CENTRE % ", due_day: 7"))
    assert con.execute("SELECT centre, due_day FROM reporting.centres").fetchall() == [(BAU, 7)]
    assert not [x for x in uncommented(con) if x.startswith("reporting.")]
    con.close()


def test_centres_in_the_same_case_are_named_together():
    """The sentence of the refresh summary and the UI check: one clause per month and case, so a
    federation's 80 centres late with the same month make one clause, not 80."""
    from sos_pipeline.defs.publish import due_text

    nov10, oct5 = dt.date(2026, 11, 10), dt.date(2026, 10, 5)
    overdue = [("A", "2026-10", nov10, "missing"), ("B", "2026-10", nov10, "missing"),
               ("C", "2026-10", nov10, "rejected"), ("D", "2026-09", oct5, "missing")]
    assert due_text(overdue, overdue) == (
        "Overdue: A, B 2026-10 (nothing received, due 2026-11-10); C 2026-10 (rejected, no accepted "
        "version yet, due 2026-11-10); D 2026-09 (nothing received, due 2026-10-05).")
    latest = [("A", "2026-10", nov10, "accepted"), ("B", "2026-10", nov10, "accepted"),
              ("C", "2026-09", oct5, "accepted")]
    assert due_text(latest, []) == ("Every centre has delivered its latest month past its due day "
                                    "(A, B 2026-10; C 2026-09).")
    eighty = [(f"C{i:02d}", "2026-10", nov10, "missing") for i in range(1, 81)]
    text = due_text(eighty, eighty)
    assert text.count("nothing received") == 1 and text.startswith("Overdue: C01, C02, C03") and "C80 2026-10" in text
