"""Small hand-made deliveries for tests/test_indicators.py (indicators.md, hand-worked answers).

Everything here is plain data: which family is listed, served, exited, in which month.
The expected values are worked out by hand in the tests, from the story told below; nothing
here computes an indicator.

Reference data (own, written into the data dir):
  centres  BAU (active 2013-01-01), VAL (2013-11-01), ISL (2021-03-01: added by reference data only)
  projects LONG  BAU+VAL, 2021-01-01 .. 2021-12-31, reporting every 3 months
           MID   BAU,     2021-02-15 .. 2021-03-31, reporting every month (starts mid-month)

Deliveries: BAU 2021-01..2021-04 (April later corrected), VAL 2021-01..2021-02, ISL 2021-03.
"""
from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from pathlib import Path

D = dt.date

CENTRES_YAML = """\
centres:
  - code: BAU
    name_lv: Bauskas SOS ģimeņu atbalsta centrs
    name_en: Bauska SOS Family Support Centre
    town: Bauska
    active_from: 2013-01-01
  - code: VAL
    name_lv: Valmieras SOS ģimeņu atbalsta centrs
    name_en: Valmiera SOS Family Support Centre
    town: Valmiera
    active_from: 2013-11-01
  - code: ISL
    name_lv: Īslīces SOS ģimeņu atbalsta centrs
    name_en: Īslīce SOS Family Support Centre
    town: Īslīce
    active_from: 2021-03-01
"""

PROJECTS_YAML = """\
projects:
  - code: LONG
    number: null
    name_lv: Ilgais tests
    name_en: Long test project
    funder: Test funder
    centres: [BAU, VAL]
    start: 2021-01-01
    end: 2021-12-31
    reporting_months: 3
    suppression_threshold: 5
    budget: []
    targets:
      - {indicator: families_served, value: 10, from: 2021-01-01}
      - {indicator: families_served, value: 12, from: 2021-04-01}
      - {indicator: families_served, centre: BAU, value: 16, from: 2021-01-01}
      - {indicator: mentor_handbooks, value: 1, from: 2021-01-01}
    manual_values:
      - {indicator: mentor_handbooks, value: 1, date: 2021-02-10}
  - code: MID
    number: null
    name_lv: Mēneša vidus tests
    name_en: Mid-month test project
    funder: Test funder
    centres: [BAU]
    start: 2021-02-15
    end: 2021-03-31
    reporting_months: 1
    suppression_threshold: 5
    budget: []
    targets: []
    manual_values: []
"""

TOWN = {"BAU": ("Bauska", "Gailīšu pagasts"), "VAL": ("Valmiera", "Kocēnu pagasts"),
        "ISL": ("Īslīce", "Īslīces pagasts")}


class Month:
    """One centre-month delivery, built up row by row."""

    def __init__(self, centre: str, year: int, month: int):
        self.centre, self.year, self.month = centre, year, month
        self.name = f"{centre}_{year:04d}-{month:02d}"
        self.tables: dict[str, list[dict]] = {t: [] for t in (
            "families", "children", "services", "group_sessions", "group_attendance", "events",
            "event_participants", "mentoring", "trainings")}

    def day(self, d: int) -> dt.date:
        return D(self.year, self.month, d)

    def fam(self, ref, enrolled, ttype, tgroup="risk_family", kids=(), adults=1,
            exited=None, reason=None):
        """kids: (suffix, birth_year, sex); child_ref = '<family_ref>-<suffix>'."""
        urban, rural = TOWN[self.centre]
        self.tables["families"].append(dict(
            family_ref=ref, enrolled_on=enrolled, exited_on=exited, exit_reason=reason,
            territory=urban if ttype == "urban" else rural, territory_type=ttype,
            target_group=tgroup, referral_source="social_service", risk_factors=None,
            adults=adults))
        for suffix, birth_year, sex in kids:
            self.tables["children"].append(dict(child_ref=f"{ref}-{suffix}", family_ref=ref,
                                                birth_year=birth_year, sex=sex, disability="no"))
        return self

    def svc(self, contact_id, d, ref, service, minutes, project=None, child=None):
        self.tables["services"].append(dict(
            contact_id=contact_id, date=self.day(d), family_ref=ref, child_ref=child,
            service=service, minutes=minutes, mode="centre", staff_ref=f"{self.centre[0]}S-01",
            project=project))
        return self

    def session(self, session_id, group_code, group_type, d, attendees, project=None):
        """attendees: family_ref (an adult of it) or (family_ref, child_ref)."""
        self.tables["group_sessions"].append(dict(
            session_id=session_id, group_code=group_code, group_type=group_type, date=self.day(d),
            territory=TOWN[self.centre][0], staff_ref=f"{self.centre[0]}S-02", project=project))
        for a in attendees:
            ref, child = (a, None) if isinstance(a, str) else a
            self.tables["group_attendance"].append(dict(session_id=session_id, family_ref=ref,
                                                        child_ref=child))
        return self

    def event(self, event_id, event_type, start, end, participants, project=None):
        """participants: (family_ref, adults, children)."""
        self.tables["events"].append(dict(
            event_id=event_id, event_type=event_type, title=f"Pasākums {event_id}",
            start_date=start, end_date=end, territory=TOWN[self.centre][0], project=project))
        for ref, adults, children in participants:
            self.tables["event_participants"].append(dict(event_id=event_id, family_ref=ref,
                                                          adults=adults, children=children))
        return self

    def pair(self, pair_id, mentor, ref, child, started, ended=None, project=None):
        self.tables["mentoring"].append(dict(pair_id=pair_id, mentor_ref=mentor, family_ref=ref,
                                             child_ref=child, started_on=started, ended_on=ended,
                                             project=project))
        return self

    def training(self, training_id, topic, d, participants, project=None):
        self.tables["trainings"].append(dict(
            training_id=training_id, topic=topic, start_date=self.day(d), end_date=self.day(d),
            hours=8, participants=participants, participant_type="social_worker", project=project))
        return self


# ------------------------------------------------------------------ families' fixed attributes
# (enrolled_on never changes between months; kids as listed unless a month says otherwise)
E = {  # family_ref -> (enrolled_on, territory_type, target_group, kids)
    "B-0001": (D(2019, 5, 10), "urban", "risk_family", [(1, 2015, "F"), (2, 2010, "M")]),
    "F-0500": (D(2020, 6, 1), "rural", "foster_family", [(1, 2015, "F")]),        # BAU's F-0500
    "B-0011": (D(2020, 1, 15), "urban", "risk_family", [(1, 2013, "M")]),
    "B-0012": (D(2020, 2, 1), "rural", "risk_family", [(1, 2011, "F")]),
    "B-0013": (D(2020, 3, 1), "urban", "guardian", [(1, 2009, "M")]),
    "B-0014": (D(2020, 4, 1), "rural", "risk_family", [(1, 2008, "F")]),
    "B-0015": (D(2020, 5, 1), "urban", "adoptive", [(1, 2017, "M")]),
    "B-0016": (D(2020, 6, 1), "rural", "risk_family", [(1, 2012, "F")]),
    "B-0021": (D(2019, 1, 1), "urban", "risk_family", [(1, 2012, "F"), (2, 2004, "M")]),
    "B-0022": (D(2021, 3, 1), "urban", "risk_family", [(1, 2003, "M")]),
    "B-0023": (D(2021, 1, 10), "rural", "potential_foster", [(1, 2020, "M")]),
    "B-0031": (D(2018, 1, 1), "urban", "risk_family", [(1, 2016, "F")]),
    "B-0032": (D(2018, 2, 1), "rural", "risk_family", [(1, 2014, "M")]),
    "B-0034": (D(2019, 9, 1), "urban", "risk_family", [(1, 2013, "F"), (2, 2015, "M")]),
    "B-0035": (D(2019, 10, 1), "rural", "risk_family", [(1, 2011, "M")]),
    "B-0041": (D(2019, 3, 1), "urban", "risk_family", [(1, 2010, "M"), (2, 2012, "F")]),
    "B-0042": (D(2020, 9, 1), "rural", "risk_family", [(1, 2009, "F")]),
    "B-0051": (D(2019, 6, 1), "urban", "risk_family", [(1, 2012, "M"), (2, 2014, "F"), (3, 2016, "F")]),
    "B-0052": (D(2020, 7, 1), "rural", "foster_family", [(1, 2018, "M")]),
    "B-0053": (D(2020, 8, 1), "urban", "guardian", [(1, 2011, "F"), (2, 2013, "M")]),
    "B-0061": (D(2020, 10, 1), "urban", "risk_family", [(1, 2010, "M")]),
    "B-0062": (D(2020, 10, 2), "rural", "risk_family", [(1, 2010, "F")]),
    "B-0063": (D(2020, 10, 3), "urban", "risk_family", [(1, 2012, "M")]),
    "B-0064": (D(2020, 10, 4), "rural", "risk_family", [(1, 2013, "F")]),
    "B-0065": (D(2020, 10, 5), "urban", "risk_family", [(1, 2014, "M")]),
    "B-0071": (D(2020, 11, 1), "urban", "risk_family", [(1, 2012, "M")]),
    "B-0072": (D(2020, 11, 2), "rural", "risk_family", [(1, 2013, "F"), (2, 2016, "M")]),
}
E_VAL = {
    "F-0500": (D(2020, 10, 1), "urban", "risk_family", [(1, 2015, "F")]),         # VAL's F-0500
    "V-0001": (D(2020, 11, 1), "rural", "risk_family", [(1, 2012, "M"), (2, 2017, "F")]),
}
E_ISL = {
    "I-0001": (D(2021, 3, 1), "urban", "risk_family", [(1, 2014, "M"), (2, 2016, "F")]),
    "I-0002": (D(2021, 3, 2), "rural", "guardian", [(1, 2010, "F")]),
}


def listed(m: Month, register: dict, ref: str, **over) -> None:
    enrolled, ttype, tgroup, kids = register[ref]
    m.fam(ref, enrolled, over.pop("ttype", ttype), tgroup, over.pop("kids", kids),
          adults=over.pop("adults", 1), exited=over.pop("exited", None),
          reason=over.pop("reason", None))
    assert not over, over


# the violence-survivors group VS-2021A (project LONG), weekly sessions:
VS_SESSIONS = {  # session_id -> date
    "BAU-G-01": D(2021, 1, 7), "BAU-G-02": D(2021, 1, 14), "BAU-G-03": D(2021, 1, 21),
    "BAU-G-04": D(2021, 1, 28), "BAU-G-05": D(2021, 2, 4), "BAU-G-06": D(2021, 2, 11),
    "BAU-G-07": D(2021, 2, 18), "BAU-G-08": D(2021, 2, 25), "BAU-G-09": D(2021, 3, 4),
    "BAU-G-10": D(2021, 3, 11), "BAU-G-11": D(2021, 3, 18), "BAU-G-12": D(2021, 3, 25),
    "BAU-G-13": D(2021, 4, 1), "BAU-G-14": D(2021, 4, 8),
}
# B-0031 (an adult) attends G-01..G-12: its 10th attended session is G-10 on 2021-03-11.
# B-0032 misses G-02, G-06, G-11 and attends G-13, G-14: attended G-01,03,04 (3),
# G-05,07,08 (6), G-09,10,12 (9), G-13 (10th, 2021-04-01), G-14.
VS_ATTENDS = {
    "B-0031": {f"BAU-G-{i:02d}" for i in range(1, 13)},
    "B-0032": {f"BAU-G-{i:02d}" for i in range(1, 15)} - {"BAU-G-02", "BAU-G-06", "BAU-G-11"},
}


def vs_sessions(m: Month) -> None:
    for sid, day in VS_SESSIONS.items():
        if (day.year, day.month) == (m.year, m.month):
            m.session(sid, "VS-2021A", "violence_survivors", day.day,
                      [f for f, s in VS_ATTENDS.items() if sid in s], project="LONG")


def bau_jan() -> Month:
    m = Month("BAU", 2021, 1)
    for ref in ("B-0001", "F-0500", "B-0012", "B-0021", "B-0023", "B-0031", "B-0032", "B-0041"):
        listed(m, E, ref)
    m.svc("BAU-S-0001", 5, "B-0001", "social_work", 60)
    m.svc("BAU-S-0002", 20, "F-0500", "legal", 30, project="LONG")
    m.svc("BAU-S-0003", 14, "B-0012", "family_assistant", 120)
    m.svc("BAU-S-0004", 8, "B-0021", "social_work", 30)
    vs_sessions(m)
    m.pair("BAU-P-01", "BM-01", "B-0041", "B-0041-1", D(2020, 11, 2))
    return m


def bau_feb() -> Month:
    m = Month("BAU", 2021, 2)
    # B-0001 listed (with a third child, listed this month only) but not served in February
    listed(m, E, "B-0001", kids=[(1, 2015, "F"), (2, 2010, "M"), (3, 2020, "F")])
    listed(m, E, "B-0011", exited=m.day(20), reason="independent")
    listed(m, E, "B-0012", exited=m.day(21), reason="moved")
    listed(m, E, "B-0013", exited=m.day(10), reason="declined")
    listed(m, E, "B-0014")
    listed(m, E, "B-0015", exited=m.day(28), reason="other")
    listed(m, E, "B-0016", exited=m.day(12), reason="declined")        # never served
    listed(m, E, "B-0021", ttype="rural", kids=[(1, 2012, "F")])      # moved to a parish; child 2 gone
    for ref in ("B-0023", "B-0031", "B-0032", "B-0035", "B-0041", "B-0042", "B-0052", "B-0053",
                "B-0061", "B-0062"):
        listed(m, E, ref)
    listed(m, E, "B-0034", adults=2)
    listed(m, E, "B-0051", adults=2)
    m.svc("BAU-S-0011", 3, "B-0011", "social_work", 60, project="LONG")
    m.svc("BAU-S-0012", 5, "B-0013", "social_work", 45)
    m.svc("BAU-S-0013", 8, "B-0014", "narcologist", 60)
    m.svc("BAU-S-0014", 28, "B-0015", "material_aid", None)
    m.svc("BAU-S-0015", 9, "B-0021", "social_work", 30)
    m.svc("BAU-S-0016", 2, "B-0023", "social_work", 60)
    m.svc("BAU-S-0017", 10, "B-0061", "social_work", 60, project="MID")   # before MID's start: warning
    m.svc("BAU-S-0018", 15, "B-0062", "psychologist", 60, project="MID")  # MID's first day
    m.svc("BAU-S-0019", 16, "B-0062", "social_work", 30, project="LONG")
    vs_sessions(m)
    m.session("BAU-G-15", "PS-2021A", "parent_support", 9,
              ["B-0034", "B-0034", ("B-0034", "B-0034-1"), "B-0035"])  # two adults of B-0034
    m.event("BAU-E-01", "camp", D(2021, 2, 12), D(2021, 2, 14),
            [("B-0051", 2, 3), ("B-0052", 1, 0), ("B-0053", 0, 2)], project="LONG")
    m.event("BAU-E-02", "celebration", D(2021, 2, 26), D(2021, 3, 1), [("B-0051", 1, 1)])
    m.pair("BAU-P-01", "BM-01", "B-0041", "B-0041-1", D(2020, 11, 2))
    m.pair("BAU-P-02", "BM-01", "B-0042", "B-0042-1", D(2021, 2, 20), project="LONG")
    return m


def bau_mar() -> Month:
    m = Month("BAU", 2021, 3)
    listed(m, E, "B-0014", exited=m.day(5), reason="referred")
    for ref in ("B-0001", "B-0022", "B-0031", "B-0032", "B-0041", "B-0042", "B-0063", "B-0065"):
        listed(m, E, ref)
    m.svc("BAU-S-0021", 10, "B-0001", "psychologist", 45, child="B-0001-1")
    m.svc("BAU-S-0022", 15, "B-0022", "family_group_conference", 90)
    m.svc("BAU-S-0023", 20, "B-0063", "legal", 45, project="MID")
    m.svc("BAU-S-0024", 2, "B-0065", "social_work", 30, project="MID")
    vs_sessions(m)
    m.pair("BAU-P-01", "BM-01", "B-0041", "B-0041-1", D(2020, 11, 2), ended=m.day(12))
    m.pair("BAU-P-02", "BM-01", "B-0042", "B-0042-1", D(2021, 2, 20), project="LONG")
    m.training("BAU-T-01", "family_group_conference", 22, 7, project="LONG")
    return m


def bau_apr(corrected: bool) -> Month:
    m = Month("BAU", 2021, 4)
    refs = ["B-0031", "B-0032", "B-0041", "B-0042", "B-0064", "B-0072"]
    if not corrected:
        refs.append("B-0071")
    for ref in refs:
        listed(m, E, ref)
    m.svc("BAU-S-0031", 6, "B-0064", "social_work", 60, project="MID")    # after MID's end: warning
    if corrected:
        m.svc("BAU-S-0033", 13, "B-0072", "social_work", 90)
        m.svc("BAU-S-0034", 20, "B-0072", "psychologist", 60)
    else:
        m.svc("BAU-S-0032", 12, "B-0071", "legal", 60)
        m.svc("BAU-S-0033", 13, "B-0072", "social_work", 30)
    vs_sessions(m)
    m.pair("BAU-P-02", "BM-01", "B-0042", "B-0042-1", D(2021, 2, 20), project="LONG")
    m.pair("BAU-P-03", "BM-02", "B-0041", "B-0041-2", D(2021, 4, 6))
    return m


def val_jan() -> Month:
    m = Month("VAL", 2021, 1)
    listed(m, E_VAL, "F-0500")
    listed(m, E_VAL, "V-0001")
    m.svc("VAL-S-0001", 11, "F-0500", "social_work", 60, project="LONG")
    m.svc("VAL-S-0002", 12, "V-0001", "psychologist", 45)
    return m


def val_feb() -> Month:
    m = Month("VAL", 2021, 2)
    listed(m, E_VAL, "F-0500")                                   # listed, not served
    listed(m, E_VAL, "V-0001", kids=[(1, 2012, "M")])            # child 2 not listed in February
    m.svc("VAL-S-0011", 3, "V-0001", "social_work", 60, project="LONG")
    return m


def isl_mar() -> Month:
    m = Month("ISL", 2021, 3)
    listed(m, E_ISL, "I-0001")
    listed(m, E_ISL, "I-0002")
    m.svc("ISL-S-0001", 3, "I-0001", "social_work", 60)
    return m


@contextmanager
def pipeline_env(root: Path, key: str = "indicator-test-key"):
    """SOS_DATA_DIR / DAGSTER_HOME / key for a module-scoped fixture; restored afterwards."""
    data = root / "data"
    (data / "inbox").mkdir(parents=True, exist_ok=True)
    (root / "home").mkdir(exist_ok=True)
    env = {"SOS_DATA_DIR": str(data), "DAGSTER_HOME": str(root / "home"), "SOS_PSEUDONYM_KEY": key}
    old = {k: os.environ.get(k) for k in (*env, "SOS_ENV")}
    os.environ.update(env)
    os.environ.pop("SOS_ENV", None)
    try:
        yield data
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ------------------------------------------------------------------ edge cases (second refresh)
# Own reference: BAU only; project XY (BAU) 2020-12-01 .. 2021-05-31, 2-month reporting
# periods, services_end 2020-12-31 (information only: the scope is the window).
# Deliveries BAU_2020-12 and BAU_2021-01.

EDGE_CENTRES_YAML = """\
centres:
  - code: BAU
    name_lv: Bauskas SOS ģimeņu atbalsta centrs
    name_en: Bauska SOS Family Support Centre
    active_from: 2013-01-01
"""

EDGE_PROJECTS_YAML = """\
projects:
  - code: XY
    number: null
    name_lv: Gadu mijas tests
    name_en: Year boundary test project
    funder: Test funder
    centres: [BAU]
    start: 2020-12-01
    end: 2021-05-31
    services_end: 2020-12-31
    reporting_months: 2
    suppression_threshold: 5
    budget: []
    targets: []
    manual_values: []
"""

E_EDGE = {
    "E-01": (D(2019, 1, 1), "urban", "risk_family", [(1, 2012, "M")]),
    "E-02": (D(2019, 2, 1), "urban", "risk_family", [(1, 2013, "F")]),
    "E-03": (D(2019, 3, 1), "rural", "risk_family", [(1, 2011, "F")]),
    "E-04": (D(2019, 4, 1), "urban", "risk_family", [(1, 2015, "M")]),
    "E-05": (D(2019, 5, 1), "rural", "risk_family", [(1, 2014, "F")]),
    "E-06": (D(2019, 6, 1), "urban", "risk_family", [(1, 2008, "M")]),
    "E-07": (D(2019, 7, 1), "rural", "potential_foster", []),            # no children listed
}

# violence_survivors group VS-X: D1..D6 in December (XY), J1 2021-01-05 (not attributed),
# J2..J5 (XY). E-04's adult attends D1..D6, J1..J4 (10 in all, 9 of them XY's);
# E-05's adult and its child E-05-1 attend all 11 (10 XY's).
EDGE_SESSIONS = {
    "BAU-G-D1": (D(2020, 12, 1), "XY"), "BAU-G-D2": (D(2020, 12, 8), "XY"),
    "BAU-G-D3": (D(2020, 12, 15), "XY"), "BAU-G-D4": (D(2020, 12, 22), "XY"),
    "BAU-G-D5": (D(2020, 12, 29), "XY"), "BAU-G-D6": (D(2020, 12, 30), "XY"),
    "BAU-G-J1": (D(2021, 1, 5), None), "BAU-G-J2": (D(2021, 1, 12), "XY"),
    "BAU-G-J3": (D(2021, 1, 19), "XY"), "BAU-G-J4": (D(2021, 1, 26), "XY"),
    "BAU-G-J5": (D(2021, 1, 28), "XY"),
}
EDGE_ATTENDS = {
    "E-04": set(EDGE_SESSIONS) - {"BAU-G-J5"},
    "E-05": set(EDGE_SESSIONS),
    ("E-05", "E-05-1"): set(EDGE_SESSIONS),
}


def edge_sessions(m: Month) -> None:
    for sid, (day, project) in EDGE_SESSIONS.items():
        if (day.year, day.month) == (m.year, m.month):
            m.session(sid, "VS-X", "violence_survivors", day.day,
                      [a for a, s in EDGE_ATTENDS.items() if sid in s], project=project)


def edge_dec() -> Month:
    m = Month("BAU", 2020, 12)
    for ref in ("E-03", "E-04", "E-05", "E-06"):
        listed(m, E_EDGE, ref)
    m.svc("BAU-S-E001", 3, "E-03", "social_work", 60, project="XY")
    m.svc("BAU-S-E002", 7, "E-06", "psychologist", 60, project="XY")
    edge_sessions(m)
    return m


def edge_jan() -> Month:
    m = Month("BAU", 2021, 1)
    listed(m, E_EDGE, "E-01", exited=m.day(5), reason="moved")       # served only after its exit
    listed(m, E_EDGE, "E-02", exited=m.day(20), reason="independent")
    listed(m, E_EDGE, "E-03", exited=m.day(25), reason="referred")   # served (XY) in December
    for ref in ("E-04", "E-05", "E-06", "E-07"):
        listed(m, E_EDGE, ref)
    m.svc("BAU-S-E011", 10, "E-01", "social_work", 60)
    m.svc("BAU-S-E013", 15, "E-07", "social_work", 60)               # a family without children
    m.svc("BAU-S-E012", 20, "E-02", "social_work", 60, project="XY")  # after services_end
    edge_sessions(m)
    return m
