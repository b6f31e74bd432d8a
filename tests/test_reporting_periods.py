"""Reporting periods do not depend on the data (indicators.md, "Periods"): every Pn and PTD-Pn
of a project exists from the first refresh, the one the data ends in shows its figures so far,
the later ones 0. Calendar periods still run from the first to the last month of data.

One real `refresh` of three small hand-made deliveries (the helpers of
tests/indicator_cases.py), with our own projects.yaml. Every expected number below is worked
out by hand in the comment next to it.

Reference data: the centres of indicator_cases.py (BAU active from 2013-01-01, ISL from
2021-03-01; VAL sends nothing here) and one project:

  RP  BAU+ISL, 2021-01-10 .. 2021-12-31, reporting every 2 months from the start date:
      P1 01-10..03-09   P2 03-10..05-09   P3 05-10..07-09   P4 07-10..09-09
      P5 09-10..11-09   P6 11-10..12-31 (the project's end)
      targets families_served 10 from 2021-01-10, 12 from 2021-06-01

Deliveries: BAU_2021-02, BAU_2021-03, ISL_2021-03. The data's last month is March 2021, so
the data ends inside P2, which starts mid-month (on the 10th, after March's first day).

  BAU_2021-02  B-0101 contact 02-15 (RP)            B-0105 contact 02-20 (no project)
               B-0102 listed, not served
  BAU_2021-03  B-0102 contacts 03-05 (RP) and 03-20 (RP)
               B-0103 contact 03-10 (RP: P2's first day)
               B-0104 contact 03-25 (no project)
               B-0105 (an adult) at a parent-support group session 03-18 (RP)
               mentoring pair BAU-P-01 (B-0103's child) started 03-15, not ended, RP
  ISL_2021-03  I-0101 contact 03-12 (RP)            I-0102 contact 03-03 (RP)

Children listed: B-0101 1, B-0102 2, B-0103 1, B-0104 1, B-0105 1, I-0101 2, I-0102 1.
"""
from __future__ import annotations

import csv
import datetime as dt

import duckdb
import indicator_cases as ic
import pytest
from test_indicators import approx, bounds, headline, value

from sos_pipeline import cli, config, reference
from sos_pipeline.sample import writers

D = dt.date
RP, BAU, ISL = "RP", "BAU", "ISL"
LATER = ("P3", "P4", "P5", "P6")

PROJECTS_YAML = """\
projects:
  - code: RP
    number: null
    name_lv: Pārskata periodu tests
    name_en: Reporting period test project
    funder: Test funder
    centres: [BAU, ISL]
    start: 2021-01-10
    end: 2021-12-31
    reporting_months: 2
    suppression_threshold: 5
    budget: []
    targets:
      - {indicator: families_served, value: 10, from: 2021-01-10}
      - {indicator: families_served, value: 12, from: 2021-06-01}
    manual_values: []
"""

REGISTER = {  # family_ref -> (enrolled_on, territory_type, target_group, kids)
    "B-0101": (D(2020, 9, 1), "urban", "risk_family", [(1, 2014, "F")]),
    "B-0102": (D(2020, 10, 1), "rural", "risk_family", [(1, 2012, "M"), (2, 2016, "F")]),
    "B-0103": (D(2021, 3, 10), "urban", "risk_family", [(1, 2018, "M")]),
    "B-0104": (D(2020, 11, 1), "rural", "risk_family", [(1, 2010, "F")]),
    "B-0105": (D(2021, 2, 1), "urban", "foster_family", [(1, 2019, "F")]),
    "I-0101": (D(2021, 3, 1), "urban", "risk_family", [(1, 2013, "M"), (2, 2015, "F")]),
    "I-0102": (D(2021, 3, 2), "rural", "guardian", [(1, 2011, "F")]),
}


def bau_feb() -> ic.Month:
    m = ic.Month("BAU", 2021, 2)
    for ref in ("B-0101", "B-0102", "B-0105"):
        ic.listed(m, REGISTER, ref)
    m.svc("BAU-S-0101", 15, "B-0101", "social_work", 60, project=RP)
    m.svc("BAU-S-0102", 20, "B-0105", "social_work", 45)
    return m


def bau_mar() -> ic.Month:
    m = ic.Month("BAU", 2021, 3)
    for ref in ("B-0102", "B-0103", "B-0104", "B-0105"):
        ic.listed(m, REGISTER, ref)
    m.svc("BAU-S-0111", 5, "B-0102", "social_work", 60, project=RP)
    m.svc("BAU-S-0112", 20, "B-0102", "psychologist", 45, project=RP)
    m.svc("BAU-S-0113", 10, "B-0103", "social_work", 60, project=RP)
    m.svc("BAU-S-0114", 25, "B-0104", "legal", 30)
    m.session("BAU-G-0101", "PS-RP", "parent_support", 18, ["B-0105"], project=RP)
    m.pair("BAU-P-01", "BM-01", "B-0103", "B-0103-1", D(2021, 3, 15), project=RP)
    return m


def isl_mar() -> ic.Month:
    m = ic.Month("ISL", 2021, 3)
    for ref in ("I-0101", "I-0102"):
        ic.listed(m, REGISTER, ref)
    m.svc("ISL-S-0101", 12, "I-0101", "social_work", 60, project=RP)
    m.svc("ISL-S-0102", 3, "I-0102", "social_work", 60, project=RP)
    return m


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("reporting_periods")
    with ic.pipeline_env(root) as data:
        ref = data / "reference"
        ref.mkdir()
        (ref / "centres.yaml").write_text(ic.CENTRES_YAML, encoding="utf-8")
        (ref / "projects.yaml").write_text(PROJECTS_YAML, encoding="utf-8")
        for m in (bau_feb(), bau_mar(), isl_mar()):
            writers.write_delivery(data / "inbox", m.name, m.tables, writers.CSV_UTF8)
        code = cli.refresh(quiet=True)
        con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
        statuses = con.execute("SELECT delivery, status, reason FROM audit.deliveries "
                               "ORDER BY delivery").fetchall()
        assert (code, [(d, s) for d, s, _ in statuses]) == (
            0, [("BAU_2021-02", "accepted"), ("BAU_2021-03", "accepted"),
                ("ISL_2021-03", "accepted")]), statuses
        yield data, con
        con.close()


def periods(con, project):
    return {p: (t, s, e) for p, t, s, e in con.execute(
        "SELECT period, period_type, period_start, period_end FROM reporting.periods "
        "WHERE project IS NOT DISTINCT FROM ?", [project]).fetchall()}


# ------------------------------------------------------------------------------ the periods

def test_every_reporting_period_exists_whatever_the_data(run):
    _, c = run
    got = periods(c, RP)
    # P1..P6 from projects.yaml alone, though the data ends on 2021-03-31 (inside P2)
    want = {"P1": (D(2021, 1, 10), D(2021, 3, 9)), "P2": (D(2021, 3, 10), D(2021, 5, 9)),
            "P3": (D(2021, 5, 10), D(2021, 7, 9)), "P4": (D(2021, 7, 10), D(2021, 9, 9)),
            "P5": (D(2021, 9, 10), D(2021, 11, 9)), "P6": (D(2021, 11, 10), D(2021, 12, 31))}
    for label, (s, e) in want.items():
        assert got[label] == ("reporting_period", s, e), label
        assert got[f"PTD-{label}"] == ("project_to_date", D(2021, 1, 10), e), label
    assert got["PTD"] == ("project_to_date", D(2021, 1, 10), D(2021, 12, 31))
    assert bounds(c, RP, "P2") == ("reporting_period", D(2021, 3, 10), D(2021, 5, 9))
    # calendar periods keep their rule: the months of data (RP: those overlapping its window,
    # from January, the month of its start, to March, the last month of data)
    assert sorted(p for p, (t, _, _) in got.items() if t == "month") == ["2021-01", "2021-02", "2021-03"]
    assert sorted(p for p, (t, _, _) in got.items() if t == "quarter") == ["2021-Q1"]
    every = periods(c, None)
    assert sorted(p for p, (t, _, _) in every.items() if t == "month") == ["2021-02", "2021-03"]
    assert not any(t in ("reporting_period", "project_to_date") for t, _, _ in every.values())


def test_the_period_the_data_ends_in_counts_its_activity_so_far(run):
    _, c = run
    # P2 = 03-10..05-09; data to 03-31. Served in 03-10..03-31 within RP:
    #   BAU: B-0102 (03-20), B-0103 (03-10, P2's first day), B-0105 (group 03-18) = 3
    #        (B-0104's 03-25 contact has no project: ALL only)
    #   ISL: I-0101 (03-12) = 1;  ALL centres: 4
    assert headline(c, "families_served", RP, BAU, "P2") == 3
    assert headline(c, "families_served", RP, ISL, "P2") == 1
    assert headline(c, "families_served", RP, None, "P2") == 4
    # children: B-0102 2 + B-0103 1 + B-0105 1 = 4 (BAU); I-0101 2 (ISL); ALL 6
    assert headline(c, "children_served", RP, BAU, "P2") == 4
    assert headline(c, "children_served", RP, ISL, "P2") == 2
    assert headline(c, "children_served", RP, None, "P2") == 6
    # breakdowns and other indicators of P2 are there too: 1 of the 4 is rural (B-0102);
    # RP contacts 03-10..03-31: B-0103 03-10, I-0101 03-12, B-0102 03-20 = 3
    assert value(c, "families_served", RP, None, "P2", "territory_type=rural") == 1
    assert value(c, "contacts", RP, None, "P2") == 3
    # P1 = 01-10..03-09 keeps its own: B-0101 (02-15), B-0102 (03-05), I-0102 (03-03) = 3;
    # children 1 + 2 + 1 = 4
    assert headline(c, "families_served", RP, None, "P1") == 3
    assert headline(c, "children_served", RP, None, "P1") == 4
    # so P1 and P2 together hold every RP activity of the data: 5 RP-served families in March
    # (B-0102, B-0103, B-0105, I-0101, I-0102) + B-0101 in February = 6 = PTD (below)


def test_later_periods_exist_with_headline_zero(run):
    _, c = run
    # P3..P6 have not begun by 03-31: headline rows for every scope of RP, value 0
    for label in LATER:
        for centre in (None, BAU, ISL):
            assert headline(c, "families_served", RP, centre, label) == 0, (label, centre)
            assert headline(c, "children_served", RP, centre, label) == 0, (label, centre)
    # every scope of RP has P6's headline rows: ALL, BAU, ISL
    scopes = set(c.execute(
        "SELECT centre FROM reporting.indicator_values WHERE project = 'RP' AND period = 'P6' "
        "AND indicator = 'families_served' AND breakdown IS NULL").fetchall())
    assert scopes == {(None,), (BAU,), (ISL,)}
    # the open mentoring pair (started 03-15, no end yet) is active in P2, not in a period
    # that has not begun: nothing is known about P3 yet
    assert value(c, "mentoring_pairs", RP, None, "P2") == 1
    assert value(c, "mentoring_pairs", RP, None, "P1") == 0        # P1 ends 03-09
    for label in LATER:
        assert value(c, "mentoring_pairs", RP, None, label) == 0, label
    assert value(c, "mentoring_pairs", RP, None, "PTD") == 1
    assert value(c, "mentoring_pairs", None, BAU, "2021-03") == 1


def test_project_to_date_periods(run):
    _, c = run
    # PTD-P1 = P1: 3 families, 4 children
    assert headline(c, "families_served", RP, None, "PTD-P1") == 3
    assert headline(c, "children_served", RP, None, "PTD-P1") == 4
    # PTD-P2 = 01-10..05-09: BAU B-0101, B-0102, B-0103, B-0105 = 4 (children 1+2+1+1 = 5);
    # ISL I-0101, I-0102 = 2 (children 2+1 = 3); ALL 6 families, 8 children
    assert headline(c, "families_served", RP, BAU, "PTD-P2") == 4
    assert headline(c, "families_served", RP, ISL, "PTD-P2") == 2
    assert headline(c, "families_served", RP, None, "PTD-P2") == 6
    assert headline(c, "children_served", RP, None, "PTD-P2") == 8
    # later PTD-Pn run from the start to the end of a period not begun: all data so far, the
    # same 6 / 8 (the later P's add 0), and PTD likewise
    for label in ("PTD-P3", "PTD-P4", "PTD-P5", "PTD-P6", "PTD"):
        assert headline(c, "families_served", RP, None, label) == 6, label
        assert headline(c, "children_served", RP, None, label) == 8, label
        assert headline(c, "families_served", RP, BAU, label) == 4, label


def test_monthly_averages_divide_by_the_months_of_the_scopes_life(run):
    _, c = run
    # RP/ALL P2 (03-10..05-09) overlaps March, April, May, all in RP's window and after the
    # earliest centre's start (BAU 2013-01) → 3 months. March ∩ P2: B-0102, B-0103, B-0105,
    # I-0101 = 4; April, May: 0 (no data yet, still months of the period) → 4 / 3
    assert value(c, "families_served_monthly_avg", RP, None, "P2") == approx(4 / 3)
    # children: March ∩ P2 2 + 1 + 1 + 2 = 6 → 6 / 3 = 2
    assert value(c, "children_served_monthly_avg", RP, None, "P2") == approx(2.0)
    # RP/ISL P1 (01-10..03-09) overlaps Jan, Feb, Mar, but ISL starts 2021-03-01: March only
    # → 1 month. March ∩ P1 (03-01..03-09): I-0102 = 1 → 1 / 1
    assert value(c, "families_served_monthly_avg", RP, ISL, "P1") == approx(1.0)
    # RP/BAU P1: Jan ∩ P1 (01-10..01-31) 0 (no delivery, a month of BAU's life all the same),
    # Feb B-0101 = 1, Mar ∩ P1 B-0102 = 1 → 2 / 3
    assert value(c, "families_served_monthly_avg", RP, BAU, "P1") == approx(2 / 3)
    # RP/ALL P1: for all centres the earliest start (BAU) → Jan, Feb, Mar: 0 + 1 + 2
    # (B-0102, I-0102) → 3 / 3
    assert value(c, "families_served_monthly_avg", RP, None, "P1") == approx(1.0)
    # RP/ALL PTD-P2 (01-10..05-09): Jan..May = 5 months; Feb 1, Mar 5 (B-0102, B-0103,
    # B-0105, I-0101, I-0102) → 6 / 5
    assert value(c, "families_served_monthly_avg", RP, None, "PTD-P2") == approx(6 / 5)
    # a period that has not begun averages 0 (no row: zero rows other than the headline ones
    # may be left out)
    assert value(c, "families_served_monthly_avg", RP, None, "P3") == 0


def test_target_progress_for_every_reporting_period(run):
    _, c = run
    got = {r[0]: r[1:] for r in c.execute(
        "SELECT period, period_end, target, actual, achievement FROM reporting.target_progress "
        "WHERE project = 'RP' AND indicator = 'families_served' AND centre IS NULL").fetchall()}
    assert set(got) == {"PTD-P1", "PTD-P2", "PTD-P3", "PTD-P4", "PTD-P5", "PTD-P6", "PTD"}
    # PTD-P1 ends 03-09: target 10 (from 01-10), actual 3
    assert got["PTD-P1"] == (D(2021, 3, 9), 10, 3, approx(0.3))
    # PTD-P2 ends 05-09 (in progress): target 10, actual so far 6
    assert got["PTD-P2"] == (D(2021, 5, 9), 10, 6, approx(0.6))
    # PTD-P3 ends 07-09: the revision of 06-01 (12) is in force; actual so far 6
    assert got["PTD-P3"] == (D(2021, 7, 9), 12, 6, approx(0.5))
    assert got["PTD"] == (D(2021, 12, 31), 12, 6, approx(0.5))


# ------------------------------------------------------------------------------ extracts

def _summary(folder):
    with open(folder / "summary.csv", encoding="utf-8-sig", newline="") as f:
        return {(r["section"], r["item_en"]): r["value"] for r in csv.DictReader(f)}


def test_extracts_for_begun_periods_only(run):
    data, _ = run
    reports = data / "reports" / RP
    # P1 has ended; P2 (begun 03-10) and PTD are in progress: built, saying how far data go
    assert (reports / "P1" / "manifest.json").exists()
    for label in ("P2", "PTD"):
        s = _summary(reports / label)
        assert s[("project", "Data up to (period in progress)")] == "2021-03-31", label
    assert ("project", "Data up to (period in progress)") not in _summary(reports / "P1")
    # P2's figures so far: 4 families, shown as <5 (threshold 5)
    assert _summary(reports / "P2")[("figures", "Families served")] == "<5"
    # its targets sheet: progress at PTD-P1 and PTD-P2 (so far), nothing later
    with open(reports / "P2" / "targets.csv", encoding="utf-8-sig", newline="") as f:
        assert [r["period"] for r in csv.DictReader(f)] == ["PTD-P1", "PTD-P2"]
    # PTD shows progress only for the reporting periods begun by 03-31, and PTD
    with open(reports / "PTD" / "targets.csv", encoding="utf-8-sig", newline="") as f:
        assert [r["period"] for r in csv.DictReader(f)] == ["PTD-P1", "PTD-P2", "PTD"]
    # P3..P6 have not begun: no extract yet, and asking for one is no error
    for label in LATER:
        assert not (reports / label).exists(), label
    from sos_pipeline.extracts import build
    (out,) = build(config.paths(), reference.load(data), [f"{RP}/P5"])
    assert (out.status, out.folder) == ("no-data", None)
