"""Indicator layer (indicators.md) against hand-worked answers.

Real deliveries (tests/indicator_cases.py tells their story) go into an inbox with our own
centres.yaml / projects.yaml, one real `refresh` loads them, a second one loads a correction
of BAU_2021-04; the tests read `reporting.indicator_values` of the published warehouse.
Every expected number below is worked out by hand in the comment next to it.

Scopes used: project ALL (None) or LONG (BAU+VAL, 2021-01-01..2021-12-31, 3-month reporting
periods) or MID (BAU, 2021-02-15..2021-03-31, 1-month periods); centre BAU, VAL, ISL or ALL (None).
Data months: 2021-01 .. 2021-04 (BAU), 2021-01 .. 2021-02 (VAL), 2021-03 (ISL).
"""
from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import indicator_cases as ic
import pytest

from sos_pipeline import cli
from sos_pipeline.sample import writers

pytestmark = pytest.mark.heavy(14)   # seconds on one core: run early (tests/conftest.py)

D = dt.date
LONG, MID, BAU, VAL, ISL = "LONG", "MID", "BAU", "VAL", "ISL"


# ------------------------------------------------------------------------------------ helpers

def _rows(con, indicator, project, centre, period, breakdown):
    return con.execute(
        "SELECT value FROM reporting.indicator_values WHERE indicator = ? AND period = ? "
        "AND project IS NOT DISTINCT FROM ? AND centre IS NOT DISTINCT FROM ? "
        "AND breakdown IS NOT DISTINCT FROM ?",
        [indicator, period, project, centre, breakdown]).fetchall()


def value(con, indicator, project=None, centre=None, period=None, breakdown=None) -> float:
    """The value, 0.0 when the row is absent (rows of value 0 may be left out)."""
    rows = _rows(con, indicator, project, centre, period, breakdown)
    assert len(rows) <= 1, f"duplicate rows for {indicator} {project} {centre} {period} {breakdown}"
    return rows[0][0] if rows else 0.0


def headline(con, indicator, project=None, centre=None, period=None) -> float:
    """Strict: families_served / children_served headline rows must exist, 0 included."""
    rows = _rows(con, indicator, project, centre, period, None)
    assert len(rows) == 1, f"expected one {indicator} row for {project}/{centre}/{period}, got {rows}"
    return rows[0][0]


def bounds(con, project, period, indicator="families_served", centre=None):
    rows = con.execute(
        "SELECT DISTINCT period_type, period_start, period_end FROM reporting.indicator_values "
        "WHERE indicator = ? AND period = ? AND project IS NOT DISTINCT FROM ? "
        "AND centre IS NOT DISTINCT FROM ? AND breakdown IS NULL",
        [indicator, period, project, centre]).fetchall()
    assert len(rows) == 1, rows
    return rows[0]


def approx(x):
    return pytest.approx(x, abs=1e-9)


# ------------------------------------------------------------------------------------ the run

DELIVERIES = [  # (month builder, form)
    (ic.bau_jan, writers.CSV_UTF8), (ic.bau_feb, writers.XLSX), (ic.bau_mar, writers.CSV_CP1257),
    (lambda: ic.bau_apr(corrected=False), writers.CSV_UTF8),
    (ic.val_jan, writers.CSV_CP1257), (ic.val_feb, writers.CSV_UTF8),
    (ic.isl_mar, writers.XLSX),
]


class Run:
    def __init__(self, data, before, codes):
        self.data, self.codes = data, codes
        self.con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
        self.before = duckdb.connect(str(before), read_only=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("indicators")
    with ic.pipeline_env(root) as data:
        ref = data / "reference"
        ref.mkdir()
        (ref / "centres.yaml").write_text(ic.CENTRES_YAML, encoding="utf-8")
        (ref / "projects.yaml").write_text(ic.PROJECTS_YAML, encoding="utf-8")
        for build, form in DELIVERIES:
            m = build()
            writers.write_delivery(data / "inbox", m.name, m.tables, form)
        codes = [cli.refresh(quiet=True)]
        before = root / "before.duckdb"          # the state before the correction
        shutil.copyfile(data / "warehouse.duckdb", before)
        m = ic.bau_apr(corrected=True)           # BAU_2021-04 re-delivered with changed rows
        writers.write_delivery(data / "inbox", m.name, m.tables, writers.XLSX)
        codes.append(cli.refresh(quiet=True))
        r = Run(data, before, codes)
        yield r
        r.con.close()
        r.before.close()


def test_every_delivery_is_accepted(run):
    assert run.codes == [0, 0]
    got = run.con.execute("SELECT delivery, status, reason FROM audit.deliveries "
                          "ORDER BY delivery, processed_at").fetchall()
    status = {}
    for d, s, reason in got:
        status.setdefault(d, []).append(s)
        assert s != "rejected", (d, reason)
    assert status == {
        "BAU_2021-01": ["accepted"], "BAU_2021-02": ["accepted"], "BAU_2021-03": ["accepted"],
        "BAU_2021-04": ["superseded", "accepted"],
        "VAL_2021-01": ["accepted"], "VAL_2021-02": ["accepted"], "ISL_2021-03": ["accepted"]}


def test_one_row_per_indicator_scope_period_breakdown(run):
    dup = run.con.execute(
        "SELECT indicator, project, centre, period, breakdown, count(*) "
        "FROM reporting.indicator_values GROUP BY ALL HAVING count(*) > 1 LIMIT 5").fetchall()
    assert dup == []


# ------------------------------------------------ 1. a family served in two months of a quarter

def test_family_served_in_two_months_counts_once_in_the_quarter(run):
    c = run.con
    # BAU families served (all activities, any project):
    #  Jan: B-0001, F-0500, B-0012, B-0021 (contacts), B-0031, B-0032 (group)            = 6
    #  Feb: B-0011, B-0013, B-0014, B-0015, B-0021, B-0023, B-0061, B-0062 (contacts),
    #       B-0031, B-0032, B-0034, B-0035 (groups), B-0051, B-0052, B-0053 (events)      = 15
    #       (B-0001 listed in February but not served; B-0016 never served)
    #  Mar: B-0001, B-0022, B-0063, B-0065 (contacts), B-0031, B-0032 (group)             = 6
    assert headline(c, "families_served", centre=BAU, period="2021-01") == 6
    assert headline(c, "families_served", centre=BAU, period="2021-02") == 15
    assert headline(c, "families_served", centre=BAU, period="2021-03") == 6
    # Q1: Jan's 6 + Feb's 15 less B-0021, B-0031, B-0032 already counted (12)
    #     + Mar's 6 less B-0001, B-0031, B-0032 (3) = 21 — B-0001 (Jan and Mar) once
    assert headline(c, "families_served", centre=BAU, period="2021-Q1") == 21
    # monthly average of Q1 = (6 + 15 + 6) / 3 = 9
    assert value(c, "families_served_monthly_avg", centre=BAU, period="2021-Q1") == approx(9.0)
    # ALL centres: Jan 6 + VAL 2 = 8; Feb 15 + VAL 1 = 16; Mar 6 + ISL 1 = 7 → (8+16+7)/3 = 31/3
    assert value(c, "families_served_monthly_avg", period="2021-Q1") == approx(31 / 3)
    # Q2 (April data only): April 3 (B-0032 group, B-0064, B-0072 contacts), May 0, June 0
    assert headline(c, "families_served", centre=BAU, period="2021-Q2") == 3
    assert value(c, "families_served_monthly_avg", centre=BAU, period="2021-Q2") == approx(1.0)


def test_children_served_by_month_and_quarter_at_bau(run):
    c = run.con
    # children listed with a family in the delivery of a month in which it was served:
    #  Jan: B-0001 (2), F-0500 (1), B-0012 (1), B-0021 (2), B-0031 (1), B-0032 (1)           = 8
    #  Feb: B-0011, B-0013, B-0014, B-0015, B-0021 (only -1 listed now), B-0023, B-0031,
    #       B-0032, B-0035, B-0052, B-0061, B-0062 (1 each = 12), B-0034 (2), B-0051 (3),
    #       B-0053 (2)                                                                          = 19
    #  Mar: B-0001 (2), B-0022, B-0031, B-0032, B-0063, B-0065 (1 each)                      = 7
    assert headline(c, "children_served", centre=BAU, period="2021-01") == 8
    assert headline(c, "children_served", centre=BAU, period="2021-02") == 19
    assert headline(c, "children_served", centre=BAU, period="2021-03") == 7
    # Q1: 8 + (19 − B-0021-1, B-0031-1, B-0032-1 = 16) + (7 − B-0001-1/-2, B-0031-1,
    # B-0032-1 = 3) = 27. B-0001-3 is listed only in February, when B-0001 was not served: out.
    assert headline(c, "children_served", centre=BAU, period="2021-Q1") == 27
    # (8 + 19 + 7) / 3 = 34/3
    assert value(c, "children_served_monthly_avg", centre=BAU, period="2021-Q1") == approx(34 / 3)
    # age = 2021 − birth_year. 18-24: B-0022-1 (2003 → 18). 13-17: B-0021-2 (2004), B-0014-1
    # (2008). 0-6 (born 2015-2021): B-0001-1, F-0500-1, B-0034-2 (2015), B-0031-1, B-0051-3
    # (2016), B-0015-1 (2017), B-0052-1 (2018), B-0023-1 (2020) = 8. 7-12: 27 − 1 − 2 − 8 = 16
    for band, n in (("0-6", 8), ("7-12", 16), ("13-17", 2), ("18-24", 1)):
        assert value(c, "children_served", centre=BAU, period="2021-Q1",
                     breakdown=f"age_band={band}") == n, band
    # sex: Jan F B-0001-1, F-0500-1, B-0012-1, B-0021-1, B-0031-1 (5); Feb's new F B-0014-1,
    # B-0034-1, B-0051-2, B-0051-3, B-0053-1, B-0062-1 (6); March's new are all M → F 11, M 16
    assert value(c, "children_served", centre=BAU, period="2021-Q1", breakdown="sex=F") == 11
    assert value(c, "children_served", centre=BAU, period="2021-Q1", breakdown="sex=M") == 16


def test_unique_counts_are_not_summed_across_months_or_centres(run):
    c = run.con
    # ALL centres, ALL projects. Q1 = BAU 21 + VAL 2 (F-0500, V-0001) + ISL 1 (I-0001) = 24,
    # while the months sum to 8 + 16 + 7 = 31
    assert headline(c, "families_served", period="2021-Q1") == 24
    months = sum(headline(c, "families_served", period=p) for p in ("2021-01", "2021-02", "2021-03"))
    assert months == 31
    # the year: Q1's 24 + April's new B-0064, B-0072 (B-0032 already counted) = 26
    assert headline(c, "families_served", period="2021") == 26
    # children, ALL centres: Jan 8 + VAL 3 = 11; Feb 19 + VAL 1 = 20; Mar 7 + ISL 2 = 9;
    # Q1 = BAU 27 + VAL 3 + ISL 2 = 32; monthly avg (11 + 20 + 9) / 3 = 40/3
    assert headline(c, "children_served", period="2021-01") == 11
    assert headline(c, "children_served", period="2021-Q1") == 32
    assert value(c, "children_served_monthly_avg", period="2021-Q1") == approx(40 / 3)
    # across projects: B-0062 was served by MID (2021-02-15) and by LONG (2021-02-16):
    # LONG/BAU Feb = B-0011, B-0062 (contacts), B-0031, B-0032 (group), B-0051..53 (camp) = 7;
    # MID/BAU Feb = B-0062 = 1; the families served by either project are 7, not 8
    assert headline(c, "families_served", LONG, BAU, "2021-02") == 7
    assert headline(c, "families_served", MID, BAU, "2021-02") == 1


# ------------------------------------------------------------- 2. same family_ref at two centres

def test_same_family_ref_at_two_centres_is_two_families(run):
    c = run.con
    # F-0500 is a BAU family and, with the same ref, a VAL family; both served in January,
    # both by LONG (BAU legal 01-20, VAL social_work 01-11)
    # VAL Jan: F-0500, V-0001 = 2; ALL centres Jan: BAU 6 + VAL 2 = 8
    assert headline(c, "families_served", centre=VAL, period="2021-01") == 2
    assert headline(c, "families_served", period="2021-01") == 8
    # LONG/BAU Jan: F-0500 (contact), B-0031, B-0032 (group) = 3; LONG/VAL Jan: F-0500 = 1;
    # LONG/ALL Jan: 3 + 1 = 4 (the two F-0500 are two families)
    assert headline(c, "families_served", LONG, BAU, "2021-01") == 3
    assert headline(c, "families_served", LONG, VAL, "2021-01") == 1
    assert headline(c, "families_served", LONG, None, "2021-01") == 4
    # their children share the ref F-0500-1 too: two children. ALL Jan children = 8 + 3 = 11
    # (checked above); LONG Jan children: BAU F-0500-1, B-0031-1, B-0032-1 + VAL F-0500-1 = 4
    assert headline(c, "children_served", LONG, None, "2021-01") == 4
    # legal contacts in January: only BAU's F-0500; the psychologist: only VAL's V-0001
    assert value(c, "families_by_service", period="2021-01", breakdown="service=legal") == 1
    assert value(c, "families_by_service", centre=VAL, period="2021-01",
                 breakdown="service=psychologist") == 1


# --------------------------------------------- 3./4. a project starting mid-month; out of window

def test_mid_month_project_scope_and_reporting_periods(run):
    c = run.con
    # MID-attributed contacts: B-0061 02-10 (before the 02-15 start: out), B-0062 02-15 (in),
    # B-0065 03-02 (in), B-0063 03-20 (in), B-0064 04-06 (after the 03-31 end: out)
    assert headline(c, "families_served", MID, BAU, "2021-02") == 1        # B-0062
    assert headline(c, "families_served", MID, None, "2021-02") == 1
    assert headline(c, "families_served", MID, BAU, "2021-03") == 2        # B-0065, B-0063
    assert headline(c, "families_served", MID, BAU, "2021-Q1") == 3
    assert headline(c, "families_served", MID, BAU, "2021") == 3
    # P1 = 2021-02-15..2021-03-14: B-0062, B-0065 = 2; P2 = 2021-03-15..2021-03-31 (the
    # project's end): B-0063 = 1; PTD-P1 = P1 = 2; PTD-P2 = PTD = 02-15..03-31 = 3
    assert headline(c, "families_served", MID, BAU, "P1") == 2
    assert headline(c, "families_served", MID, BAU, "P2") == 1
    assert headline(c, "families_served", MID, BAU, "PTD-P1") == 2
    assert headline(c, "families_served", MID, BAU, "PTD-P2") == 3
    assert headline(c, "families_served", MID, None, "PTD") == 3
    # one child each: P1 B-0062-1, B-0065-1 = 2; PTD + B-0063-1 = 3
    assert headline(c, "children_served", MID, BAU, "P1") == 2
    assert headline(c, "children_served", MID, None, "PTD") == 3
    # bounds: reporting periods start on the start date; calendar periods keep calendar bounds
    assert bounds(c, MID, "P1") == ("reporting_period", D(2021, 2, 15), D(2021, 3, 14))
    assert bounds(c, MID, "PTD-P1") == ("project_to_date", D(2021, 2, 15), D(2021, 3, 14))
    assert bounds(c, MID, "P2") == ("reporting_period", D(2021, 3, 15), D(2021, 3, 31))
    assert bounds(c, MID, "PTD-P2") == ("project_to_date", D(2021, 2, 15), D(2021, 3, 31))
    assert bounds(c, MID, "PTD") == ("project_to_date", D(2021, 2, 15), D(2021, 3, 31))
    assert bounds(c, MID, "2021-02") == ("month", D(2021, 2, 1), D(2021, 2, 28))
    assert bounds(c, MID, "2021-Q1") == ("quarter", D(2021, 1, 1), D(2021, 3, 31))
    # MID's calendar months are those overlapping its window: February and March only
    months = {p for (p,) in c.execute(
        "SELECT DISTINCT period FROM reporting.indicator_values WHERE project = 'MID' "
        "AND period_type = 'month'").fetchall()}
    assert months == {"2021-02", "2021-03"}
    # monthly average over Q1's months within the project's life (Feb, Mar): (1 + 2) / 2
    assert value(c, "families_served_monthly_avg", MID, BAU, "2021-Q1") == approx(1.5)
    # P1: Feb ∩ P1 (02-15..02-28) B-0062 = 1, Mar ∩ P1 (03-01..03-14) B-0065 = 1 → 1.0
    assert value(c, "families_served_monthly_avg", MID, BAU, "P1") == approx(1.0)
    # PTD: (1 + 2) / 2
    assert value(c, "families_served_monthly_avg", MID, None, "PTD") == approx(1.5)


def test_activity_outside_the_project_window_counts_in_all_only_and_warns(run):
    c = run.con
    # B-0061 (MID contact 02-10, before the start) is among BAU's 15 in February (ALL project)
    # and B-0064 (MID contact 04-06, after the end) among BAU's 3 in April; neither is in MID:
    # MID PTD = B-0062, B-0063, B-0065 = 3 (above). Their social_work contacts:
    # MID/BAU social_work contacts Q1: B-0065 03-02 = 1 (B-0061's is out)
    assert value(c, "contacts", MID, BAU, "2021-Q1", "service=social_work") == 1
    # ALL/BAU social_work contacts in February: B-0011, B-0013, B-0021, B-0023, B-0061, B-0062 = 6
    assert value(c, "contacts", None, BAU, "2021-02", "service=social_work") == 6
    # April: B-0064's contact (60) and B-0072's (90) = 2 social_work contacts in ALL
    assert value(c, "contacts", None, BAU, "2021-04", "service=social_work") == 2
    got = c.execute("SELECT DISTINCT delivery, rule, severity, table_name FROM audit.findings "
                    "WHERE rule = 'services.project.window'").fetchall()
    assert ("BAU_2021-02", "services.project.window", "warning", "services") in got
    assert ("BAU_2021-04", "services.project.window", "warning", "services") in got


# ----------------------------------------------------------------------- 5. exits, active at end

def test_families_exited_with_each_reason_and_active_at_end(run):
    c = run.con
    # exits (all BAU): B-0011 independent 02-20 (served 02-03), B-0012 moved 02-21 (served
    # 01-14), B-0013 declined 02-10 (served 02-05), B-0015 other 02-28 (served the same day),
    # B-0016 declined 02-12 (never served: not counted), B-0014 referred 03-05 (served 02-08)
    assert value(c, "families_exited", None, BAU, "2021-01") == 0
    assert value(c, "families_exited", None, BAU, "2021-02") == 4
    assert value(c, "families_exited", None, BAU, "2021-03") == 1
    assert value(c, "families_exited", None, BAU, "2021-Q1") == 5
    assert value(c, "families_exited", None, None, "2021-Q1") == 5
    for reason, n in (("independent", 1), ("moved", 1), ("declined", 1), ("referred", 1),
                      ("other", 1)):
        assert value(c, "families_exited", None, BAU, "2021-Q1", f"exit_reason={reason}") == n, reason
    assert value(c, "families_exited", None, BAU, "2021-02", "exit_reason=referred") == 0
    assert value(c, "families_exited", None, BAU, "2021-03", "exit_reason=referred") == 1
    # LONG: only B-0011 was served by LONG (02-03) before its exit
    assert value(c, "families_exited", LONG, BAU, "2021-Q1") == 1
    assert value(c, "families_exited", LONG, BAU, "P1", "exit_reason=independent") == 1
    assert value(c, "families_exited", LONG, BAU, "P1", "exit_reason=moved") == 0
    # active at the end: listed in the month holding T's end, not exited by then
    #  Jan: 8 listed (B-0001, F-0500, B-0012, B-0021, B-0023, B-0031, B-0032, B-0041) = 8
    #  Feb: 20 listed − exited by 02-28 (B-0011, B-0012, B-0013, B-0015, B-0016) = 15
    #  Mar: 9 listed − B-0014 (exited 03-05) = 8; Q1 ends in March: 8
    #  Apr (corrected): B-0031, B-0032, B-0041, B-0042, B-0064, B-0072 = 6
    assert value(c, "families_active_end", None, BAU, "2021-01") == 8
    assert value(c, "families_active_end", None, BAU, "2021-02") == 15
    assert value(c, "families_active_end", None, BAU, "2021-03") == 8
    assert value(c, "families_active_end", None, BAU, "2021-Q1") == 8
    assert value(c, "families_active_end", None, BAU, "2021-04") == 6
    # ALL centres: Feb 15 + VAL 2 = 17; Mar 8 + ISL 2 = 10
    assert value(c, "families_active_end", None, None, "2021-02") == 17
    assert value(c, "families_active_end", None, None, "2021-03") == 10
    # Q2 ends 06-30: no delivery for June → 0
    assert value(c, "families_active_end", None, BAU, "2021-Q2") == 0
    # LONG/BAU also needs a LONG service on or before T's end:
    #  Jan: F-0500, B-0031, B-0032 = 3; Feb: B-0031, B-0032, B-0051, B-0052, B-0053, B-0062 = 6
    #  (B-0042's LONG mentoring pair is no service); Mar: B-0031, B-0032 = 2;
    #  Apr: B-0031 (served by LONG in Q1), B-0032 = 2
    assert value(c, "families_active_end", LONG, BAU, "2021-01") == 3
    assert value(c, "families_active_end", LONG, BAU, "2021-02") == 6
    assert value(c, "families_active_end", LONG, BAU, "P1") == 2
    assert value(c, "families_active_end", LONG, BAU, "2021-04") == 2
    # MID: Feb: B-0062 (B-0061's contact is outside the window) = 1; Mar: B-0063, B-0065 = 2;
    # P1 ends 03-14: March listing, MID-served by 03-14: B-0065 only = 1
    assert value(c, "families_active_end", MID, BAU, "2021-02") == 1
    assert value(c, "families_active_end", MID, BAU, "2021-03") == 2
    assert value(c, "families_active_end", MID, BAU, "P1") == 1


def test_families_enrolled(run):
    c = run.con
    # B-0023 enrolled 2021-01-10, listed in Jan but served only in Feb: not Jan, not Feb
    # (enrolled_on outside Feb), but Q1; B-0022 enrolled 2021-03-01, served 03-15: Mar and Q1;
    # ISL's I-0001 enrolled 03-01, served 03-03; I-0002 enrolled 03-02, never served
    assert value(c, "families_enrolled", None, BAU, "2021-01") == 0
    assert value(c, "families_enrolled", None, BAU, "2021-02") == 0
    assert value(c, "families_enrolled", None, BAU, "2021-03") == 1
    assert value(c, "families_enrolled", None, BAU, "2021-Q1") == 2
    assert value(c, "families_enrolled", None, ISL, "2021-03") == 1
    assert value(c, "families_enrolled", None, None, "2021-Q1") == 3


def test_families_served_breakdowns_use_the_latest_served_month(run):
    c = run.con
    # B-0021 was urban in January and rural in February (both served): Q1 takes February.
    # BAU Q1 rural: F-0500, B-0012, B-0014, B-0021, B-0023, B-0032, B-0035, B-0052, B-0062 = 9
    # urban: B-0001, B-0011, B-0013, B-0015, B-0022, B-0031, B-0034, B-0051, B-0053, B-0061,
    # B-0063, B-0065 = 12 (9 + 12 = 21, each family once)
    assert value(c, "families_served", None, BAU, "2021-Q1", "territory_type=rural") == 9
    assert value(c, "families_served", None, BAU, "2021-Q1", "territory_type=urban") == 12
    # Jan: urban B-0001, B-0021, B-0031 = 3; rural F-0500, B-0012, B-0032 = 3
    assert value(c, "families_served", None, BAU, "2021-01", "territory_type=urban") == 3
    assert value(c, "families_served", None, BAU, "2021-01", "territory_type=rural") == 3
    # target groups Q1: foster_family F-0500, B-0052; guardian B-0013, B-0053; adoptive B-0015;
    # potential_foster B-0023; risk_family the other 15
    for group, n in (("foster_family", 2), ("guardian", 2), ("adoptive", 1),
                     ("potential_foster", 1), ("risk_family", 15)):
        assert value(c, "families_served", None, BAU, "2021-Q1", f"target_group={group}") == n, group


# ------------------------------------------------------------- 6. a child listed in one month only

def test_child_listed_in_one_month_but_not_another(run):
    c = run.con
    # VAL: V-0001 served Jan (psychologist) with children -1, -2; served Feb (LONG) with only -1
    # listed; F-0500 (1 child) served in Jan only.
    assert headline(c, "children_served", None, VAL, "2021-01") == 3     # F-0500-1, V-0001-1, -2
    assert headline(c, "children_served", None, VAL, "2021-02") == 1     # V-0001-1
    assert headline(c, "children_served", None, VAL, "2021-Q1") == 3
    # LONG/VAL: Jan F-0500 (its contact is LONG's) → 1; Feb V-0001 → 1 (child -1);
    # Q1: F-0500-1, V-0001-1 = 2: V-0001-2 was only listed in January, when V-0001's
    # contact was not LONG's
    assert headline(c, "children_served", LONG, VAL, "2021-01") == 1
    assert headline(c, "children_served", LONG, VAL, "2021-02") == 1
    assert headline(c, "children_served", LONG, VAL, "2021-Q1") == 2
    # BAU: B-0021's child -2 is listed in January only: in Jan and Q1 (13-17 band), not Feb
    assert value(c, "children_served", None, BAU, "2021-01", "age_band=13-17") == 1
    assert value(c, "children_served", None, BAU, "2021-02", "age_band=13-17") == 1  # B-0014-1 (2008)


# -------------------------------------------------------------------- 7. group completion

def test_group_completion_counts_in_the_period_of_the_tenth_attended_session(run):
    c = run.con
    vs = "group_type=violence_survivors"
    # B-0031's 10th attended session is 2021-03-11, B-0032's 2021-04-01 (indicator_cases)
    for period, n in (("2021-01", 0), ("2021-02", 0), ("2021-03", 1), ("2021-04", 1),
                      ("2021-Q1", 1), ("2021-Q2", 1), ("2021", 2)):
        assert value(c, "group_completers", None, BAU, period) == n, period
        assert value(c, "group_completers", None, BAU, period, vs) == n, period
    # the sessions are LONG's: P1 = Q1, P2 = 04-01..06-30, PTD-P2 = both
    assert value(c, "group_completers", LONG, BAU, "P1") == 1
    assert value(c, "group_completers", LONG, BAU, "P2") == 1
    assert value(c, "group_completers", LONG, None, "PTD-P2") == 2
    assert value(c, "group_completers", LONG, None, "PTD") == 2
    # the parents' group has no full course
    assert value(c, "group_completers", None, BAU, "2021-Q1", "group_type=parent_support") == 0


def test_groups_sessions_and_participants(run):
    c = run.con
    # VS-2021A: 4 sessions in each of Jan, Feb, Mar, 2 in Apr; PS-2021A: one session 02-09
    assert value(c, "groups", None, BAU, "2021-01") == 1
    assert value(c, "groups", None, BAU, "2021-02") == 2
    assert value(c, "groups", None, BAU, "2021-Q1") == 2
    assert value(c, "groups", None, BAU, "2021-Q2") == 1
    assert value(c, "groups", None, BAU, "2021-Q1", "group_type=parent_support") == 1
    assert value(c, "group_sessions", None, BAU, "2021-02") == 5
    assert value(c, "group_sessions", None, BAU, "2021-Q1") == 13
    assert value(c, "group_sessions", None, BAU, "2021") == 15
    assert value(c, "group_sessions", None, BAU, "2021-Q1", "group_type=violence_survivors") == 12
    # participants: Jan the adults of B-0031 and B-0032 = 2; Feb those 2 + PS: B-0034's adults
    # (two rows, one participant), child B-0034-1, B-0035's adult = 5; Apr B-0032 = 1
    assert value(c, "group_participants", None, BAU, "2021-01") == 2
    assert value(c, "group_participants", None, BAU, "2021-02") == 5
    assert value(c, "group_participants", None, BAU, "2021-02", "group_type=parent_support") == 3
    assert value(c, "group_participants", None, BAU, "2021-Q1") == 5
    assert value(c, "group_participants", None, BAU, "2021-04") == 1
    # LONG holds only the VS group: Q1 2 participants, 1 group, 12 sessions
    assert value(c, "group_participants", LONG, BAU, "2021-Q1") == 2
    assert value(c, "groups", LONG, None, "P1") == 1
    assert value(c, "group_sessions", LONG, None, "P1") == 12


# -------------------------------------------------------------------------- 8. mentoring

def test_mentoring_pair_spanning_periods(run):
    c = run.con
    # BAU-P-01 (BM-01): 2020-11-02 .. 2021-03-12 (rows Jan-Mar); BAU-P-02 (BM-01, LONG):
    # from 2021-02-20 (rows Feb-Apr); BAU-P-03 (BM-02): from 2021-04-06 (row Apr)
    for period, pairs, mentors in (("2021-01", 1, 1), ("2021-02", 2, 1), ("2021-03", 2, 1),
                                   ("2021-04", 2, 2), ("2021-Q1", 2, 1), ("2021-Q2", 2, 2),
                                   ("2021", 3, 2)):
        assert value(c, "mentoring_pairs", None, BAU, period) == pairs, period
        assert value(c, "mentors", None, BAU, period) == mentors, period
    assert value(c, "mentoring_pairs", None, None, "2021-Q1") == 2
    # LONG: only BAU-P-02
    assert value(c, "mentoring_pairs", LONG, BAU, "2021-01") == 0
    assert value(c, "mentoring_pairs", LONG, BAU, "2021-02") == 1
    assert value(c, "mentoring_pairs", LONG, BAU, "2021-04") == 1
    assert value(c, "mentoring_pairs", LONG, None, "PTD") == 1
    assert value(c, "mentors", LONG, None, "P1") == 1
    # mentoring is no service: B-0041, B-0042 are not served (BAU April = B-0032, B-0064, B-0072)
    assert headline(c, "families_served", None, BAU, "2021-04") == 3


# ---------------------------------------------------------------------------- 9. events

def test_event_participants(run):
    c = run.con
    # BAU-E-01 camp 02-12 (LONG): B-0051 (2 adults, 3 children), B-0052 (1, 0), B-0053 (0, 2)
    # BAU-E-02 celebration 02-26..03-01: B-0051 (1, 1) — counted in February, its start
    assert value(c, "events", None, BAU, "2021-02") == 2
    assert value(c, "events", None, BAU, "2021-02", "event_type=camp") == 1
    assert value(c, "events", None, BAU, "2021-02", "event_type=celebration") == 1
    assert value(c, "events", None, BAU, "2021-03") == 0
    assert value(c, "event_families", None, BAU, "2021-02") == 3          # B-0051 once
    assert value(c, "event_families", None, BAU, "2021-02", "event_type=camp") == 3
    assert value(c, "event_families", None, BAU, "2021-02", "event_type=celebration") == 1
    assert value(c, "event_adults", None, BAU, "2021-02") == 4            # 2 + 1 + 0 + 1
    assert value(c, "event_children", None, BAU, "2021-02") == 6          # 3 + 0 + 2 + 1
    assert value(c, "event_adults", None, BAU, "2021-02", "event_type=camp") == 3
    assert value(c, "event_children", None, BAU, "2021-02", "event_type=camp") == 5
    assert value(c, "event_children", None, None, "2021-Q1") == 6
    # LONG holds the camp only
    assert value(c, "events", LONG, None, "P1") == 1
    assert value(c, "event_families", LONG, BAU, "2021-02") == 3
    assert value(c, "event_adults", LONG, BAU, "P1") == 3
    assert value(c, "event_children", LONG, BAU, "PTD") == 5


# ------------------------------------------------------------ services, hours, trainings

def test_services_contacts_and_hours(run):
    c = run.con
    # BAU contacts: Jan 4, Feb 9, Mar 4 → Q1 17
    assert value(c, "contacts", None, BAU, "2021-Q1") == 17
    # Feb minutes: 60 + 45 + 60 + (material aid: none, 0) + 30 + 60 + 60 + 60 + 30 = 405 → 6.75 h
    assert value(c, "service_hours", None, BAU, "2021-02") == approx(6.75)
    assert value(c, "service_hours", None, BAU, "2021-02", "service=material_aid") == 0
    assert value(c, "contacts", None, BAU, "2021-02", "service=material_aid") == 1
    assert value(c, "families_by_service", None, BAU, "2021-02", "service=material_aid") == 1
    # social_work Q1: Jan B-0001 60, B-0021 30; Feb B-0011 60, B-0013 45, B-0021 30, B-0023 60,
    # B-0061 60, B-0062 30; Mar B-0065 30 → 9 contacts, 405 min = 6.75 h, families 8 (B-0021 twice)
    assert value(c, "contacts", None, BAU, "2021-Q1", "service=social_work") == 9
    assert value(c, "service_hours", None, BAU, "2021-Q1", "service=social_work") == approx(6.75)
    assert value(c, "families_by_service", None, BAU, "2021-Q1", "service=social_work") == 8
    # psychologist Q1: B-0062 (Feb), B-0001 (Mar) at BAU, V-0001 (Jan) at VAL
    assert value(c, "families_by_service", None, BAU, "2021-Q1", "service=psychologist") == 2
    assert value(c, "families_by_service", None, None, "2021-Q1", "service=psychologist") == 3
    # trainings: BAU-T-01 (LONG) 03-22, 7 participants, family_group_conference
    assert value(c, "professionals_trained", None, BAU, "2021-03") == 7
    assert value(c, "professionals_trained", LONG, None, "P1",
                 "topic=family_group_conference") == 7
    assert value(c, "professionals_trained", None, BAU, "2021-02") == 0


# ------------------------------------------------------------------------- 10. correction

def test_correction_changes_last_months_numbers(run):
    b, a = run.before, run.con
    # original BAU_2021-04: B-0071 legal 60, B-0072 social_work 30, B-0064 social_work 60;
    # corrected: B-0071 gone, B-0072 social_work 90 and psychologist 60, B-0064 unchanged
    # families served: B-0032 (group), B-0064, B-0071, B-0072 = 4 → 3
    assert headline(b, "families_served", None, BAU, "2021-04") == 4
    assert headline(a, "families_served", None, BAU, "2021-04") == 3
    assert headline(b, "families_served", None, None, "2021-04") == 4
    assert headline(a, "families_served", None, None, "2021-04") == 3
    # children: B-0032-1, B-0064-1, B-0071-1, B-0072-1, -2 = 5 → 4
    assert headline(b, "children_served", None, BAU, "2021-04") == 5
    assert headline(a, "children_served", None, BAU, "2021-04") == 4
    # the year: 26 + B-0071 = 27 → 26 (ALL centres)
    assert headline(b, "families_served", None, None, "2021") == 27
    assert headline(a, "families_served", None, None, "2021") == 26
    # hours: (60 + 30 + 60) / 60 = 2.5 → (60 + 90 + 60) / 60 = 3.5
    assert value(b, "service_hours", None, BAU, "2021-04") == approx(2.5)
    assert value(a, "service_hours", None, BAU, "2021-04") == approx(3.5)
    assert value(b, "contacts", None, BAU, "2021-04", "service=legal") == 1
    assert value(a, "contacts", None, BAU, "2021-04", "service=legal") == 0
    assert value(b, "families_by_service", None, BAU, "2021-04", "service=psychologist") == 0
    assert value(a, "families_by_service", None, BAU, "2021-04", "service=psychologist") == 1
    # listed at the end of April: 7 → 6
    assert value(b, "families_active_end", None, BAU, "2021-04") == 7
    assert value(a, "families_active_end", None, BAU, "2021-04") == 6
    # earlier months untouched
    assert headline(b, "families_served", None, BAU, "2021-Q1") == 21
    assert headline(a, "families_served", None, BAU, "2021-Q1") == 21


# --------------------------------------------------- 11. a centre added by reference data only

def test_centre_added_through_reference_data(run):
    c = run.con
    # ISL (active from 2021-03-01) sent March only: I-0001 served (2 children), I-0002 listed
    assert headline(c, "families_served", None, ISL, "2021-03") == 1
    assert headline(c, "children_served", None, ISL, "2021-03") == 2
    assert headline(c, "families_served", None, ISL, "2021-Q1") == 1
    assert value(c, "families_active_end", None, ISL, "2021-03") == 2
    # headline rows for months without service, 0 included
    for period in ("2021-01", "2021-02", "2021-04", "2021-Q2"):
        assert headline(c, "families_served", None, ISL, period) == 0, period
        assert headline(c, "children_served", None, ISL, period) == 0, period
    # Q1's monthly average runs over the months of the centre's life: March only → 1 / 1
    assert value(c, "families_served_monthly_avg", None, ISL, "2021-Q1") == approx(1.0)
    assert value(c, "children_served_monthly_avg", None, ISL, "2021-Q1") == approx(2.0)


# --------------------------------------------------------- zero headline rows, scopes, targets

def test_zero_headline_rows_exist_for_every_scope_and_period(run):
    c = run.con
    # VAL sent nothing after February; LONG/VAL has nothing after February either
    for project in (None, LONG):
        for period in ("2021-03", "2021-04", "2021-Q2"):
            assert headline(c, "families_served", project, VAL, period) == 0, (project, period)
            assert headline(c, "children_served", project, VAL, period) == 0, (project, period)
    assert headline(c, "families_served", LONG, VAL, "P2") == 0
    assert headline(c, "children_served", LONG, VAL, "P2") == 0
    # every scope has its March headline row: ALL x {ALL, BAU, VAL, ISL}, LONG x {ALL, BAU, VAL},
    # MID x {ALL, BAU}
    scopes = set(c.execute(
        "SELECT project, centre FROM reporting.indicator_values WHERE indicator = "
        "'families_served' AND breakdown IS NULL AND period = '2021-03'").fetchall())
    assert scopes == {(None, None), (None, BAU), (None, VAL), (None, ISL), (LONG, None),
                      (LONG, BAU), (LONG, VAL), (MID, None), (MID, BAU)}


def test_long_project_reporting_periods(run):
    c = run.con
    # LONG families: BAU Jan F-0500, B-0031, B-0032; Feb + B-0011, B-0062, B-0051..53; Mar none
    # new; → P1 (= Q1) BAU 8; VAL F-0500, V-0001 → 2; ALL 10. P2 (Apr..Jun): B-0032 = 1.
    # PTD-P2: 10 (B-0032 already counted)
    assert bounds(c, LONG, "P1") == ("reporting_period", D(2021, 1, 1), D(2021, 3, 31))
    assert bounds(c, LONG, "P2") == ("reporting_period", D(2021, 4, 1), D(2021, 6, 30))
    assert bounds(c, LONG, "PTD") == ("project_to_date", D(2021, 1, 1), D(2021, 12, 31))
    assert headline(c, "families_served", LONG, BAU, "P1") == 8
    assert headline(c, "families_served", LONG, None, "P1") == 10
    assert headline(c, "families_served", LONG, None, "P2") == 1
    assert headline(c, "families_served", LONG, None, "PTD-P2") == 10
    assert headline(c, "families_served", LONG, None, "PTD") == 10
    # LONG/BAU P1 children: F-0500-1, B-0031-1, B-0032-1, B-0011-1, B-0062-1, B-0052-1 (6)
    # + B-0051 (3) + B-0053 (2) = 11; ALL: + VAL F-0500-1, V-0001-1 = 13
    assert headline(c, "children_served", LONG, BAU, "P1") == 11
    assert headline(c, "children_served", LONG, None, "PTD") == 13


def test_target_progress(run):
    c = run.con
    got = {(r[0], r[1], r[2]): r[3:] for r in c.execute(
        "SELECT period, centre, breakdown, target, actual, achievement FROM reporting.target_progress "
        "WHERE project = 'LONG' AND indicator = 'families_served'").fetchall()}
    # PTD-P1 ends 03-31: target 10 (from 01-01), actual 10 → 1.0; BAU: 16, actual 8 → 0.5
    assert got[("PTD-P1", None, None)] == (10, 10, approx(1.0))
    assert got[("PTD-P1", BAU, None)] == (16, 8, approx(0.5))
    # PTD-P2 ends 06-30: the revision of 04-01 applies: 12, actual 10
    assert got[("PTD-P2", None, None)] == (12, 10, approx(10 / 12))


# ================================================================ edge cases: a second refresh
# tests/indicator_cases.py, "edge cases": BAU only, project XY 2020-12-01..2021-05-31
# (2-month periods: P1 = 2020-12-01..2021-01-31), services_end 2020-12-31.
XY = "XY"


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    root = tmp_path_factory.mktemp("indicator_edges")
    with ic.pipeline_env(root) as data:
        ref = data / "reference"
        ref.mkdir()
        (ref / "centres.yaml").write_text(ic.EDGE_CENTRES_YAML, encoding="utf-8")
        (ref / "projects.yaml").write_text(ic.EDGE_PROJECTS_YAML, encoding="utf-8")
        for m, form in ((ic.edge_dec(), writers.CSV_UTF8), (ic.edge_jan(), writers.XLSX)):
            writers.write_delivery(data / "inbox", m.name, m.tables, form)
        code = cli.refresh(quiet=True)
        con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
        statuses = con.execute("SELECT delivery, status, reason FROM audit.deliveries "
                               "ORDER BY delivery").fetchall()
        assert (code, [(d, s) for d, s, _ in statuses]) == (
            0, [("BAU_2020-12", "accepted"), ("BAU_2021-01", "accepted")]), statuses
        yield con
        con.close()


def test_edge_served_across_a_year_boundary_and_after_services_end(edge):
    c = edge
    # Dec: E-03, E-06 (contacts), E-04, E-05 (group) = 4; all XY's
    # Jan: E-01, E-02, E-07 (contacts), E-04, E-05 (group) = 5; XY: E-02 (its XY contact of
    # 01-20 is after services_end but inside the window), E-04, E-05 (J2..) = 3
    assert headline(c, "families_served", None, BAU, "2020-12") == 4
    assert headline(c, "families_served", None, None, "2020") == 4
    assert headline(c, "families_served", None, None, "2021-01") == 5
    assert headline(c, "families_served", XY, BAU, "2021-01") == 3
    # P1 = Dec + Jan: E-03, E-04, E-05, E-06, E-02 = 5; monthly average (4 + 3) / 2 = 3.5
    assert bounds(c, XY, "P1") == ("reporting_period", D(2020, 12, 1), D(2021, 1, 31))
    assert headline(c, "families_served", XY, None, "P1") == 5
    assert value(c, "families_served_monthly_avg", XY, None, "P1") == approx(3.5)


def test_edge_age_band_is_taken_at_the_year_of_the_periods_end(edge):
    c = edge
    # December 2020 (year 2020): E-03-1 (2011 → 9), E-04-1 (2015 → 5), E-05-1 (2014 → 6),
    # E-06-1 (2008 → 12): 0-6 = 2, 7-12 = 2
    for period in ("2020-12", "2020-Q4", "2020"):
        assert value(c, "children_served", None, BAU, period, "age_band=0-6") == 2, period
        assert value(c, "children_served", None, BAU, period, "age_band=7-12") == 2, period
        assert value(c, "children_served", None, BAU, period, "age_band=13-17") == 0, period
    # XY P1 ends 2021-01-31 (year 2021): E-03-1 10, E-04-1 6, E-05-1 7, E-06-1 13, E-02-1 8
    # → 0-6 = 1, 7-12 = 3, 13-17 = 1
    assert value(c, "children_served", XY, BAU, "P1", "age_band=0-6") == 1
    assert value(c, "children_served", XY, BAU, "P1", "age_band=7-12") == 3
    assert value(c, "children_served", XY, BAU, "P1", "age_band=13-17") == 1


def test_edge_exit_needs_a_service_on_or_before_the_exit_date(edge):
    c = edge
    # E-01 exited 01-05, served only 01-10: not counted. E-02 exited 01-20, served (XY) 01-20:
    # counted. E-03 exited 01-25, served (XY) in December: counted. → 2 in ALL and in XY
    assert value(c, "families_exited", None, BAU, "2021-01") == 2
    assert value(c, "families_exited", None, BAU, "2021-01", "exit_reason=moved") == 0
    assert value(c, "families_exited", None, BAU, "2021-01", "exit_reason=independent") == 1
    assert value(c, "families_exited", None, BAU, "2021-01", "exit_reason=referred") == 1
    assert value(c, "families_exited", XY, None, "P1") == 2
    # active at Jan's end: E-04, E-05, E-06, E-07 = 4; in XY without E-07 (never served by XY)
    # = 3 (E-06 was served by XY in December)
    assert value(c, "families_active_end", None, BAU, "2021-01") == 4
    assert value(c, "families_active_end", XY, BAU, "2021-01") == 3
    assert value(c, "families_active_end", None, BAU, "2020-12") == 4


def test_edge_group_completion_counts_only_the_scopes_sessions(edge):
    c = edge
    # ALL: E-04's adult reaches 10 at J4 (01-26); E-05's adult and child at J4 too → 3 in Jan.
    # XY (J1 is not XY's): E-04's adult has 9 XY sessions (no); E-05's adult and child reach
    # 10 XY sessions at J5 (01-28) → 2
    assert value(c, "group_completers", None, BAU, "2020-12") == 0
    assert value(c, "group_completers", None, BAU, "2021-01") == 3
    assert value(c, "group_completers", None, None, "2021") == 3
    assert value(c, "group_completers", XY, BAU, "2021-01") == 2
    assert value(c, "group_completers", XY, None, "P1") == 2
    # participants in January: E-04's adult, E-05's adult, E-05-1 = 3 (ALL and XY)
    assert value(c, "group_participants", None, BAU, "2021-01") == 3
    assert value(c, "group_participants", XY, BAU, "2021-01") == 3
    # sessions: Dec 6 (XY); Jan 5, of which XY 4
    assert value(c, "group_sessions", None, BAU, "2021-01") == 5
    assert value(c, "group_sessions", XY, BAU, "2021-01") == 4


def test_manual_value_appears_like_a_computed_one(run):
    c = run.con
    # LONG's hand-entered mentor handbook, dated 2021-02-10: in every period holding that date
    for period in ("2021-02", "2021-Q1", "2021", "P1", "PTD-P1", "PTD-P2", "PTD"):
        assert value(c, "mentor_handbooks", LONG, None, period) == 1, period
    for period in ("2021-01", "2021-03", "P2"):
        assert value(c, "mentor_handbooks", LONG, None, period) == 0, period
    # its target (1 from 2021-01-01) is met at PTD-P1
    (row,) = c.execute("SELECT target, actual, achievement FROM reporting.target_progress "
                       "WHERE project = 'LONG' AND indicator = 'mentor_handbooks' "
                       "AND period = 'PTD-P1'").fetchall()
    assert row == (1, 1, approx(1.0))


def test_edge_a_served_family_without_children_adds_no_child(edge):
    c = edge
    # January: served E-01, E-02, E-04, E-05 (one child each) and E-07 (no child listed):
    # 5 families, 4 children; the monthly average of one month is that month's count
    assert headline(c, "children_served", None, BAU, "2021-01") == 4
    assert value(c, "families_served_monthly_avg", None, BAU, "2021-01") == approx(5.0)
    # December has no childless family: 4 families, 4 children (E-03-1, E-04-1, E-05-1, E-06-1)
    assert value(c, "children_served_monthly_avg", None, BAU, "2020-12") == approx(4.0)


def test_edge_monthly_average_of_children_ignores_a_childless_family(edge):
    c = edge
    # January's children_served is 4 (E-01-1, E-02-1, E-04-1, E-05-1; E-07 has none):
    # the mean over the one month is 4
    assert value(c, "children_served_monthly_avg", None, BAU, "2021-01") == approx(4.0)
    assert value(c, "children_served_monthly_avg", None, None, "2021-01") == approx(4.0)
