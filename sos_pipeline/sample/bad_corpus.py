"""A corpus of bad deliveries: one small delivery per kind of bad input.

Each starts from the same small clean delivery (`clean_tables`: 3 families,
5 children, 6 services, one group session with attendance, one event with
participants, one mentoring pair, one training) and breaks exactly one thing, so
that exactly the named validation rule fires. The deliveries use distinct
centre-months (2016-2018, the future-month one excepted) so they can share one
inbox and be loaded independently. The rule ids are contractual: the validator
reports these ids.
"""
from __future__ import annotations

import calendar
import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sos_pipeline.sample import writers
from sos_pipeline.sample.writers import CSV_CP1257, CSV_UTF8, XLSX

Tables = dict[str, list[dict]]

# Centre code -> letter of its case numbers (B-0137) and staff/mentor codes (BS-03, BM-05).
REF_LETTER = {"BAU": "B", "VAL": "V", "RIG": "R"}
# A byte undefined in Windows-1257 that is also invalid UTF-8 (a lone continuation byte).
UNDECODABLE_BYTE = b"\x98"


def _letter(centre: str) -> str:
    return REF_LETTER.get(centre, centre[:1])


def _default_project(centre: str, day: dt.date) -> str | None:
    """The municipal project on BAU's work while it runs; nothing elsewhere."""
    return "BAU-FS" if centre == "BAU" and 2013 <= day.year <= 2018 else None


def clean_tables(centre: str, year: int, month: int, *, ref_base: int = 901, first_no: int = 1,
                 project: Callable[[str, dt.date], str | None] = _default_project) -> Tables:
    """A small delivery that passes every rule for `centre` in `year`-`month`.

    Family case numbers start at `ref_base`, ids' running numbers at `first_no`
    (raise both to keep clear of a real delivery's refs and ids).
    """
    L = _letter(centre)
    last = calendar.monthrange(year, month)[1]

    def day(d: int) -> dt.date:
        return dt.date(year, month, min(d, last))

    ym = f"{year:04d}-{month:02d}"
    fam = [f"{L}-{ref_base + i:04d}" for i in range(3)]
    town, parish = ("Bauska", "Gailīšu pagasts") if centre == "BAU" else \
        ("Valmiera", "Kocēnu pagasts") if centre == "VAL" else ("Rīga", "Salaspils pagasts")
    families = [
        dict(family_ref=fam[0], enrolled_on=dt.date(year - 2, 9, 14), exited_on=None,
             exit_reason=None, territory=town, territory_type="urban", target_group="risk_family",
             referral_source="social_service", risk_factors="parenting;poverty", adults=1),
        dict(family_ref=fam[1], enrolled_on=dt.date(year - 1, 3, 2), exited_on=None,
             exit_reason=None, territory=parish, territory_type="rural", target_group="risk_family",
             referral_source="orphans_court", risk_factors="alcohol", adults=2),
        dict(family_ref=fam[2], enrolled_on=day(2), exited_on=None, exit_reason=None,
             territory=town, territory_type="urban", target_group="risk_family",
             referral_source="self", risk_factors=None, adults=1),
    ]
    kids = [(fam[0], 1, year - 4, "F", "no"), (fam[0], 2, year - 9, "M", "no"),
            (fam[1], 1, year - 12, "M", "yes"), (fam[1], 2, year - 15, "F", "no"),
            (fam[2], 1, year - 2, "F", None)]
    children = [dict(child_ref=f"{f}-{n}", family_ref=f, birth_year=b, sex=s, disability=d)
                for f, n, b, s, d in kids]
    staff = [f"{L}S-{i:02d}" for i in (1, 3, 4, 6, 7)]
    svc = [(3, fam[0], None, "social_work", 60, "home_visit", staff[0]),
           (5, fam[1], None, "social_work", 90, "outreach", staff[1]),
           (10, fam[1], f"{fam[1]}-1", "psychologist", 45, "centre", staff[3]),
           (12, fam[0], None, "family_assistant", 120, "home_visit", staff[2]),
           (17, fam[2], None, "legal", 30, "phone", staff[4]),
           (24, fam[2], None, "material_aid", None, "centre", staff[0])]
    services = [dict(contact_id=f"{centre}-S-{ym}-{first_no + i - 1:04d}", date=day(d), family_ref=f, child_ref=c,
                     service=s, minutes=m, mode=md, staff_ref=st,
                     project=None if s == "material_aid" else project(centre, day(d)))
                for i, (d, f, c, s, m, md, st) in enumerate(svc, 1)]
    session_id = f"{centre}-G-{ym}-{first_no:02d}"
    group_sessions = [dict(session_id=session_id, group_code=f"VAG-{year}A",
                           group_type="parent_support", date=day(11), territory=town,
                           staff_ref=staff[1], project=project(centre, day(11)))]
    group_attendance = [dict(session_id=session_id, family_ref=fam[0], child_ref=None),
                        dict(session_id=session_id, family_ref=fam[1], child_ref=None)]
    event_id = f"{centre}-E-{ym}-{first_no:02d}"
    events = [dict(event_id=event_id, event_type="educational",
                   title="Izglītojošs pasākums ģimenēm „Drošs internets”", start_date=day(19),
                   end_date=day(19), territory=town, project=project(centre, day(19)))]
    event_participants = [dict(event_id=event_id, family_ref=fam[0], adults=1, children=2),
                          dict(event_id=event_id, family_ref=fam[2], adults=1, children=1)]
    mentoring = [dict(pair_id=f"{centre}-P-{year - 1:04d}-10-{first_no:02d}", mentor_ref=f"{L}M-01",
                      family_ref=fam[1], child_ref=f"{fam[1]}-1", started_on=dt.date(year - 1, 10, 6),
                      ended_on=None, project=None)]
    trainings = [dict(training_id=f"{centre}-T-{ym}-{first_no:02d}", topic="other", start_date=day(20),
                      end_date=day(20), hours=6, participants=4, participant_type="social_worker",
                      project=None)]
    return dict(families=families, children=children, services=services,
                group_sessions=group_sessions, group_attendance=group_attendance, events=events,
                event_participants=event_participants, mentoring=mentoring, trainings=trainings)


# ---------------------------------------------------------------- the kinds

@dataclass(frozen=True)
class BadKind:
    kind: str
    name: str                 # delivery name (without .xlsx)
    rule: str                 # the rule id that must fire (and no other error)
    form: str
    breaks: Callable[[Tables], None] | None = None   # mutates the clean tables
    note: str = ""


def _set(table: str, i: int, **values):
    def f(t: Tables):
        t[table][i].update(values)
    return f


def _drop_table(table: str):
    def f(t: Tables):
        del t[table]
    return f


def _drop_column(table: str, column: str):
    def f(t: Tables):
        for row in t[table]:
            row.pop(column, None)
    return f


def _add_column(table: str, column: str, value):
    def f(t: Tables):
        for row in t[table]:
            row[column] = value
    return f


def _next_month_day(t: Tables):
    d = t["services"][0]["date"]
    t["services"][0]["date"] = (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _duplicate_contact(t: Tables):
    t["services"][5]["contact_id"] = t["services"][4]["contact_id"]


def _unlisted_child(t: Tables):
    fam = t["families"][0]["family_ref"][:2] + "0999"
    t["children"].append(dict(child_ref=f"{fam}-1", family_ref=fam, birth_year=t["children"][0]["birth_year"],
                              sex="M", disability="no"))


def _unlisted_contact(t: Tables):
    row = dict(t["services"][0])
    row.update(contact_id=row["contact_id"][:-4] + "0007", family_ref=row["family_ref"][:2] + "0999",
               child_ref=None)
    t["services"].append(row)


KINDS: tuple[BadKind, ...] = (
    BadKind("unknown_centre", "RIG_2016-01", "intake.unknown_centre", CSV_UTF8),
    BadKind("future_month", "VAL_2030-06", "intake.future_month", CSV_UTF8,
            note="the one month outside 2016-2018: it has to be in the future"),
    BadKind("malformed_name", "BAU-2016-02", "intake.malformed_name", CSV_UTF8),
    BadKind("missing_table", "BAU_2016-03", "structure.missing_table", CSV_UTF8,
            _drop_table("services"), "no services.csv"),
    BadKind("missing_column", "BAU_2016-04", "structure.missing_column", CSV_CP1257,
            _drop_column("children", "sex"), "children without sex"),
    BadKind("unreadable", "BAU_2016-05", "structure.unreadable", XLSX,
            note="an .xlsx that is not a zip"),
    BadKind("undecodable", "BAU_2016-06", "structure.undecodable", CSV_UTF8,
            note="families.csv holds byte 0x98, invalid in UTF-8 and undefined in Windows-1257"),
    BadKind("date_in_month", "BAU_2016-07", "services.date.in_month", XLSX, _next_month_day,
            "a service dated the 1st of the next month"),
    BadKind("unknown_code", "BAU_2016-08", "services.service.in_set", CSV_UTF8,
            _set("services", 1, service="psychiatrist")),
    BadKind("duplicate_contact_id", "BAU_2016-09", "services.contact_id.unique", CSV_CP1257,
            _duplicate_contact),
    BadKind("child_unlisted_family", "BAU_2016-10", "children.family_ref.listed", CSV_UTF8,
            _unlisted_child),
    BadKind("contact_unlisted_family", "BAU_2016-11", "services.family_ref.listed", XLSX,
            _unlisted_contact),
    BadKind("minutes_range", "BAU_2016-12", "services.minutes.range", CSV_UTF8,
            _set("services", 0, minutes=601)),
    BadKind("pii_column", "VAL_2016-01", "privacy.pii_column", CSV_CP1257,
            _add_column("families", "Vārds", "(slēpts)"), "a `Vārds` column in families"),
    BadKind("personal_code", "VAL_2016-02", "privacy.personal_code", CSV_UTF8,
            _set("families", 1, territory="121282-11210"), "old-style code, 12.12.1982, century 1"),
    BadKind("personal_code_new", "VAL_2016-03", "privacy.personal_code", XLSX,
            _set("families", 1, territory="321234-56789"), "new-style 32NNNN-NNNNN code"),
    BadKind("email", "VAL_2016-04", "privacy.email", CSV_UTF8,
            _set("events", 0, title="Pieteikšanās pa e-pastu centrs@example.lv")),
    BadKind("phone", "VAL_2016-05", "privacy.phone", CSV_CP1257,
            _set("events", 0, title="Pieteikšanās pa tālruni +371 29123456")),
    BadKind("phone_local", "VAL_2016-06", "privacy.phone", CSV_UTF8,
            _set("events", 0, title="Zvaniet 29123456")),
    BadKind("unknown_project", "VAL_2016-08", "services.project.known", CSV_UTF8,
            _set("services", 0, project="ESF-2016-77")),
    BadKind("project_centre", "VAL_2018-03", "services.project.centre", CSV_UTF8,
            _set("services", 0, project="BAU-AAA-2018"), "a BAU-only project on a VAL contact"),
    BadKind("project_window", "VAL_2016-07", "services.project.window", CSV_UTF8,
            _set("services", 0, project="EEA-2013-150"),
            "WARNING only: EEA-2013-150 on a 2016 contact; the delivery must load"),
)
# Kinds whose rule is a warning: the delivery loads.
WARNING_KINDS = ("project_window",)


def _parse(name: str) -> tuple[str, int, int]:
    """Centre, year, month of a corpus name, also of the deliberately malformed one."""
    m = re.fullmatch(r"([A-Z0-9]+)[_-](\d{4})-(\d{2})", name)
    if not m:
        raise ValueError(f"cannot read a centre-month from {name!r}")
    return m.group(1), int(m.group(2)), int(m.group(3))


def tables_for(kind: BadKind) -> Tables:
    centre, year, month = _parse(kind.name)
    tables = clean_tables(centre, year, month)
    if kind.breaks:
        kind.breaks(tables)
    return tables


def _mtime(i: int) -> float:
    # Deterministic, increasing in corpus order.
    return dt.datetime(2019, 2, 1, 8, 0, tzinfo=dt.timezone.utc).timestamp() + 60 * i


def _set_mtime(path: Path, when: float) -> None:
    for f in writers.delivery_files(path):
        os.utime(f, (when, when))
    os.utime(path, (when, when))


def write_bad_corpus(inbox: Path) -> dict[str, tuple[str, str]]:
    """Write one bad delivery per kind into `inbox`; return kind -> (delivery name, rule id)."""
    inbox = Path(inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[str, str]] = {}
    for i, kind in enumerate(KINDS):
        tables = tables_for(kind)
        if kind.kind == "unreadable":
            path = inbox / f"{kind.name}.xlsx"
            path.write_bytes(b"families;children;services\r\nThis is not a workbook.\r\n")
        elif kind.kind == "undecodable":
            path = writers.write_csv_utf8(inbox, kind.name, tables)
            f = path / "families.csv"
            data = f.read_bytes()
            town = tables["families"][0]["territory"].encode("utf-8")
            f.write_bytes(data.replace(town, town[:-1] + UNDECODABLE_BYTE + town[-1:], 1))
        else:
            path = writers.write_delivery(inbox, kind.name, tables, kind.form)
        _set_mtime(path, _mtime(i))
        out[kind.kind] = (kind.name, kind.rule)
    return out
