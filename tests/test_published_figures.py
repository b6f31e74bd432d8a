"""The organisation's published figures (domain.md, "Published figures"), read from
reporting.indicator_values of a real refresh of the shipped sample data.

This is the demo's proof that the numbers mean what the organisation published: each figure
below is copied from domain.md, and looked up the way an analyst would.
"""
from __future__ import annotations

import duckdb
import pytest

EEA, FS, ABLV = "EEA-2013-150", "BAU-FS", "ABLV-CAMPS"

# (what domain.md says, indicator, project, centre, period, breakdown, published value)
FIGURES = [
    ("EEA families served, PTD at end of P2", "families_served", EEA, None, "PTD-P2", None, 79),
    ("EEA families served, PTD at end of P3", "families_served", EEA, None, "PTD-P3", None, 92),
    ("EEA families served, PTD at end of P4", "families_served", EEA, None, "PTD-P4", None, 101),
    ("EEA families served, PTD at end of P5", "families_served", EEA, None, "PTD-P5", None, 117),
    ("EEA families served, PTD at end of P6", "families_served", EEA, None, "PTD-P6", None, 127),
    ("EEA whole project: families", "families_served", EEA, None, "PTD", None, 129),
    ("EEA whole project: children", "children_served", EEA, None, "PTD", None, 271),
    ("EEA BAU families using a psychologist", "families_by_service", EEA, "BAU", "PTD",
     "service=psychologist", 28),
    ("EEA VAL families using a psychologist", "families_by_service", EEA, "VAL", "PTD",
     "service=psychologist", 60),
    ("EEA BAU families using legal consultation", "families_by_service", EEA, "BAU", "PTD", "service=legal", 51),
    ("EEA VAL families using legal consultation", "families_by_service", EEA, "VAL", "PTD", "service=legal", 30),
    ("EEA families with a family group conference", "families_by_service", EEA, None, "PTD",
     "service=family_group_conference", 6),
    ("EEA mentors", "mentors", EEA, None, "PTD", None, 6),
    ("EEA mentoring pairs", "mentoring_pairs", EEA, None, "PTD", None, 6),
    ("EEA camps", "events", EEA, None, "PTD", "event_type=camp", 3),
    ("EEA camps at BAU", "events", EEA, "BAU", "PTD", "event_type=camp", 2),
    ("EEA camps at VAL", "events", EEA, "VAL", "PTD", "event_type=camp", 1),
    ("EEA BAU violence-survivor groups", "groups", EEA, "BAU", "PTD", "group_type=violence_survivors", 2),
    ("EEA BAU women completing the 10-session course", "group_completers", EEA, "BAU", "PTD",
     "group_type=violence_survivors", 10),
    ("VAL camp 2014-06-18..21: families", "event_families", EEA, "VAL", "2014-06", "event_type=camp", 5),
    ("VAL camp 2014-06-18..21: adults", "event_adults", EEA, "VAL", "2014-06", "event_type=camp", 5),
    ("VAL camp 2014-06-18..21: children", "event_children", EEA, "VAL", "2014-06", "event_type=camp", 17),
    ("BAU-FS 2013 families, monthly average", "families_served_monthly_avg", FS, "BAU", "2013", None, 57),
    ("BAU-FS 2014 families, monthly average", "families_served_monthly_avg", FS, "BAU", "2014", None, 40),
    ("BAU-FS 2015 families, monthly average", "families_served_monthly_avg", FS, "BAU", "2015", None, 41),
    ("BAU-FS 2013 children, monthly average", "children_served_monthly_avg", FS, "BAU", "2013", None, 168),
    ("BAU-FS 2014 children, monthly average", "children_served_monthly_avg", FS, "BAU", "2014", None, 109),
    ("BAU-FS 2015 children, monthly average", "children_served_monthly_avg", FS, "BAU", "2015", None, 105),
    ("BAU-FS 2015 children in the year", "children_served", FS, "BAU", "2015", None, 131),
    ("BAU-FS 2017 families", "families_served", FS, "BAU", "2017", None, 50),
    ("BAU-FS 2017 children", "children_served", FS, "BAU", "2017", None, 130),
    ("BAU-FS 2017 families enrolled", "families_enrolled", FS, "BAU", "2017", None, 12),
    ("BAU-FS 2017 families exited", "families_exited", FS, "BAU", "2017", None, 18),
    ("BAU-FS 2017 exited: became independent", "families_exited", FS, "BAU", "2017",
     "exit_reason=independent", 11),
    ("BAU-FS 2017 exited: moved", "families_exited", FS, "BAU", "2017", "exit_reason=moved", 7),
    ("ABLV-CAMPS BAU 2017 camps", "events", ABLV, "BAU", "2017", "event_type=camp", 1),
    ("ABLV-CAMPS BAU 2017 families at camps", "event_families", ABLV, "BAU", "2017", "event_type=camp", 6),
]


@pytest.fixture(scope="module")
def con(sample_warehouse):
    c = duckdb.connect(str(sample_warehouse), read_only=True)
    yield c
    c.close()


@pytest.mark.parametrize("what, indicator, project, centre, period, breakdown, published",
                         FIGURES, ids=[f[0] for f in FIGURES])
def test_published_figure(con, what, indicator, project, centre, period, breakdown, published):
    rows = con.execute(
        "SELECT value FROM reporting.indicator_values WHERE indicator = ? AND project = ? "
        "AND centre IS NOT DISTINCT FROM ? AND period = ? AND breakdown IS NOT DISTINCT FROM ?",
        [indicator, project, centre, period, breakdown]).fetchall()
    assert len(rows) == 1, f"{what}: expected one row, found {len(rows)}"
    assert rows[0][0] == published, f"{what}: published {published}, the warehouse says {rows[0][0]}"


def test_the_eea_camp_of_june_2014_is_the_only_val_camp_that_month(con):
    # The 2014-06 figures above are the camp's own only if it is the month's single VAL camp.
    n = con.execute("SELECT value FROM reporting.indicator_values WHERE indicator = 'events' "
                    "AND project = ? AND centre = 'VAL' AND period = '2014-06' "
                    "AND breakdown = 'event_type=camp'", [EEA]).fetchone()[0]
    assert n == 1


def test_ablv_camp_2017_lasts_three_days_before_midsummer(con):
    rows = con.execute("SELECT start_date, end_date FROM core.events WHERE centre = 'BAU' AND project = ? "
                       "AND event_type = 'camp' AND year(start_date) = 2017", [ABLV]).fetchall()
    assert len(rows) == 1
    start, end = rows[0]
    assert (end - start).days + 1 == 3 and end.month == 6 and end.day < 24


def test_targets_in_force_follow_the_revision(con):
    # families_served: 100 from the start, 116 from 2015-03-01 (P6 ends 2015-05-14).
    rows = dict(con.execute("SELECT period, target FROM reporting.target_progress WHERE project = ? "
                            "AND indicator = 'families_served' AND centre IS NULL", [EEA]).fetchall())
    assert rows["PTD-P5"] == 100 and rows["PTD-P6"] == 116 and rows["PTD"] == 116
    handbooks = dict(con.execute("SELECT period, actual FROM reporting.target_progress WHERE project = ? "
                                 "AND indicator = 'mentor_handbooks'", [EEA]).fetchall())
    # Published 2015-05-26: in P7 (2015-05-15 .. 2015-07-31), not before.
    assert handbooks["PTD-P6"] == 0 and handbooks["PTD-P7"] == 1 and handbooks["PTD"] == 1
