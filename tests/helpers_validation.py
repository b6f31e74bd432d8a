"""A small clean delivery as the parser hands it to the validator (typed DataFrames).

`clean()` returns (tables, ctx) for centre BAU, March 2014: every table has rows,
refs are hex pseudonyms, `_row` numbers are the spreadsheet rows (2 = first data row).
Tests mutate a fresh copy and check that exactly the expected rule fires.
"""
from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd

from sos_pipeline import contract as C
from sos_pipeline.reference import Project
from sos_pipeline.validation.suites import DeliveryContext

CENTRE = "BAU"
MONTH = dt.date(2014, 3, 1)
MONTH_END = dt.date(2014, 3, 31)


def ref(name: str) -> str:
    """A pseudonym as the parser produces it (hex)."""
    return hashlib.sha256(f"{CENTRE}|{name}".encode()).hexdigest()[:16]


def d(s: str | None):
    return pd.NaT if s is None else pd.Timestamp(s)


def project(code: str, centres, start: str, end: str) -> Project:
    return Project(code=code, number=None, name_lv=code, name_en=code, funder="test",
                   centres=tuple(centres), start=dt.date.fromisoformat(start),
                   end=dt.date.fromisoformat(end), reporting_months=3)


PROJECTS = {
    "P-BAU": project("P-BAU", ["BAU", "VAL"], "2013-11-15", "2015-07-31"),
    "P-VAL": project("P-VAL", ["VAL"], "2013-01-01", "2016-12-31"),
    "P-LATE": project("P-LATE", ["BAU"], "2014-03-15", "2015-12-31"),
}

F1, F2, F3 = ref("B-0901"), ref("B-0902"), ref("B-0903")
K11, K12, K21, K31 = ref("B-0901-1"), ref("B-0901-2"), ref("B-0902-1"), ref("B-0903-1")
S1, S2, S3 = ref("BS-01"), ref("BS-03"), ref("BS-04")
M1 = ref("BM-01")

_ROWS = {
    "families": [
        dict(family_ref=F1, enrolled_on=d("2012-09-14"), exited_on=d(None), exit_reason=None,
             territory="Bauska", territory_type="urban", target_group="risk_family",
             referral_source="social_service", risk_factors="parenting;poverty", adults=1),
        dict(family_ref=F2, enrolled_on=d("2013-03-02"), exited_on=d(None), exit_reason=None,
             territory="Gailīšu pagasts", territory_type="rural", target_group="foster_family",
             referral_source=None, risk_factors="alcohol", adults=2),
        dict(family_ref=F3, enrolled_on=d("2014-03-02"), exited_on=d("2014-03-31"),
             exit_reason="moved", territory="Bauska", territory_type="urban",
             target_group="guardian", referral_source="self", risk_factors=None, adults=10),
    ],
    "children": [
        dict(child_ref=K11, family_ref=F1, birth_year=2010, sex="F", disability="no"),
        dict(child_ref=K12, family_ref=F1, birth_year=1990, sex="M", disability=None),
        dict(child_ref=K21, family_ref=F2, birth_year=2014, sex="M", disability="yes"),
        dict(child_ref=K31, family_ref=F3, birth_year=2002, sex="F", disability="no"),
    ],
    "services": [
        dict(contact_id="BAU-S-2014-03-0001", date=d("2014-03-01"), family_ref=F1, child_ref=None,
             service="social_work", minutes=60, mode="home_visit", staff_ref=S1, project="P-BAU"),
        dict(contact_id="BAU-S-2014-03-0002", date=d("2014-03-10"), family_ref=F2, child_ref=K21,
             service="psychologist", minutes=600, mode="centre", staff_ref=S2, project=None),
        dict(contact_id="BAU-S-2014-03-0003", date=d("2014-03-31"), family_ref=F3, child_ref=None,
             service="material_aid", minutes=None, mode="centre", staff_ref=S1, project="P-LATE"),
        dict(contact_id="BAU-S-2014-03-0004", date=d("2014-03-12"), family_ref=F1, child_ref=K12,
             service="legal", minutes=1, mode="phone", staff_ref=S3, project="P-BAU"),
    ],
    "group_sessions": [
        dict(session_id="BAU-G-2014-03-01", group_code="VAG-2014A", group_type="parent_support",
             date=d("2014-03-11"), territory="Bauska", staff_ref=S2, project="P-BAU"),
        dict(session_id="BAU-G-2014-03-02", group_code="VAG-2014A", group_type="parent_support",
             date=d("2014-03-18"), territory="Bauska", staff_ref=S2, project=None),
    ],
    "group_attendance": [
        dict(session_id="BAU-G-2014-03-01", family_ref=F1, child_ref=None),
        dict(session_id="BAU-G-2014-03-01", family_ref=F1, child_ref=K11),
        dict(session_id="BAU-G-2014-03-02", family_ref=F2, child_ref=None),
    ],
    "events": [
        dict(event_id="BAU-E-2014-03-01", event_type="camp", title="Vasaras nometne",
             start_date=d("2014-03-28"), end_date=d("2014-04-02"), territory="Bauska",
             project="P-BAU"),
        dict(event_id="BAU-E-2014-03-02", event_type="celebration", title="Ģimeņu diena",
             start_date=d("2014-03-08"), end_date=d("2014-03-08"), territory="Bauska",
             project=None),
    ],
    "event_participants": [
        dict(event_id="BAU-E-2014-03-01", family_ref=F1, adults=0, children=15),
        dict(event_id="BAU-E-2014-03-02", family_ref=F2, adults=10, children=0),
    ],
    "mentoring": [
        dict(pair_id="BAU-P-2013-10-01", mentor_ref=M1, family_ref=F2, child_ref=K21,
             started_on=d("2013-12-06"), ended_on=d(None), project="P-BAU"),
        dict(pair_id="BAU-P-2014-03-01", mentor_ref=M1, family_ref=F1, child_ref=K11,
             started_on=d("2014-03-31"), ended_on=d("2014-03-31"), project=None),
    ],
    "trainings": [
        dict(training_id="BAU-T-2014-03-01", topic="airi", start_date=d("2014-03-03"),
             end_date=d("2014-03-04"), hours=0.5, participants=1,
             participant_type="social_worker", project="P-BAU"),
    ],
}


def frame(table: str, rows: list[dict], first_row: int = 2) -> pd.DataFrame:
    """Rows as the parser types them: `_row`, then every contract column."""
    t = C.TABLES[table]
    data: dict = {"_row": pd.Series(range(first_row, first_row + len(rows)), dtype="int64")}
    for col in t.columns:
        values = [r.get(col.name) for r in rows]
        if col.kind == C.DATE:
            data[col.name] = pd.Series([d(None) if v is None else v for v in values],
                                       dtype="datetime64[us]")
        elif col.kind in (C.INT, C.YEAR):
            data[col.name] = pd.Series(values, dtype="Int64")
        elif col.kind == C.NUMBER:
            data[col.name] = pd.Series(values, dtype="float64")
        else:
            data[col.name] = pd.Series(values, dtype=object)
    return pd.DataFrame(data)


def empty(table: str) -> pd.DataFrame:
    return frame(table, [])


def clean_rows() -> dict[str, list[dict]]:
    return {t: [dict(r) for r in rows] for t, rows in _ROWS.items()}


def tables_from(rows: dict[str, list[dict]]) -> dict[str, pd.DataFrame]:
    return {t: frame(t, rows.get(t, [])) for t in C.TABLES}


def context(**overrides) -> DeliveryContext:
    kw = dict(delivery="BAU_2014-03", centre=CENTRE, month=MONTH, month_end=MONTH_END,
              projects=dict(PROJECTS), existing_ids={t: set() for t in C.CENTRE_UNIQUE_IDS},
              previous_families=None)
    kw.update(overrides)
    return DeliveryContext(**kw)


def previous(rows: list[tuple]) -> pd.DataFrame:
    """previous_families from (family_ref, enrolled_on, exited_on, month) tuples."""
    return pd.DataFrame({
        "family_ref": pd.Series([r[0] for r in rows], dtype=object),
        "enrolled_on": pd.Series([d(r[1]) for r in rows], dtype="datetime64[us]"),
        "exited_on": pd.Series([d(r[2]) for r in rows], dtype="datetime64[us]"),
        "month": pd.Series([d(r[3]) for r in rows], dtype="datetime64[us]"),
    })


def clean() -> tuple[dict[str, pd.DataFrame], DeliveryContext]:
    return tables_from(clean_rows()), context()


def large(n_families: int = 250) -> tuple[dict[str, pd.DataFrame], DeliveryContext]:
    """A clean delivery of about 4 * n_families rows, for timing."""
    rows: dict[str, list[dict]] = {t: [] for t in C.TABLES}
    for i in range(n_families):
        f, k = ref(f"F{i}"), ref(f"K{i}")
        rows["families"].append(dict(_ROWS["families"][0], family_ref=f))
        rows["children"].append(dict(_ROWS["children"][0], child_ref=k, family_ref=f))
        for j in range(2):
            rows["services"].append(dict(_ROWS["services"][1], contact_id=f"S-{i}-{j}",
                                         family_ref=f, child_ref=k if j else None,
                                         project="P-BAU" if j else None))
    for i in range(20):
        sid = f"G-{i}"
        rows["group_sessions"].append(dict(_ROWS["group_sessions"][0], session_id=sid))
        for j in range(5):
            rows["group_attendance"].append(dict(session_id=sid, family_ref=ref(f"F{j}"),
                                                 child_ref=ref(f"K{j}") if j % 2 else None))
    for i in range(5):
        eid = f"E-{i}"
        rows["events"].append(dict(_ROWS["events"][1], event_id=eid))
        for j in range(5):
            rows["event_participants"].append(dict(event_id=eid, family_ref=ref(f"F{j}"),
                                                   adults=1, children=1))
    for i in range(10):
        rows["mentoring"].append(dict(_ROWS["mentoring"][0], pair_id=f"M-{i}",
                                      family_ref=ref(f"F{i}"), child_ref=ref(f"K{i}")))
    rows["trainings"].append(dict(_ROWS["trainings"][0]))
    prev = previous([(ref(f"F{i}"), "2012-09-14", None, "2014-02-01") for i in range(n_families)])
    existing = {t: {f"OLD-{t}-{i}" for i in range(500)} for t in C.CENTRE_UNIQUE_IDS}
    return tables_from(rows), context(previous_families=prev, existing_ids=existing)
