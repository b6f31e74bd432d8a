"""The shipped sample deliveries, made by simulating each centre month by month.

Not random rows per month: each centre keeps a caseload of families that enrol
and exit over time; their children stay listed from month to month; services,
groups, events, mentoring pairs and trainings follow the calendar and the
projects of domain.md. Everything is deterministic given the seed: every source
of chance is a `random.Random` of its own (one stream per centre and concern, so
that changing one knob does not reshuffle everything else).

Layout of this module:
1. KNOBS: every parameter, per centre and per year, and the activity calendars.
   Calibration to domain.md's published figures happens here.
2. The simulation (`CentreSim`), in small steps per month.
3. Delivery plan: forms, mtimes, the correction, the samples that must be rejected.
4. `generate()`.
"""
from __future__ import annotations

import calendar
import math
import copy
import datetime as dt
import os
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from sos_pipeline import contract, reference
from sos_pipeline.contract import FULL_COURSE_SESSIONS, RISK_FACTORS, SERVICES, TABLES
from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import clean_tables
from sos_pipeline.sample.writers import CSV_CP1257, CSV_UTF8, XLSX

D = dt.date
EEA, BAU_FS, BAU_AAA, ABLV = "EEA-2013-150", "BAU-FS", "BAU-AAA-2018", "ABLV-CAMPS"
AUTO = "auto"           # project decided by the attribution rules (Attribution.auto)
AAA_GROUPS = ("foster_family", "guardian", "adoptive", "potential_foster")
LAST_MONTH = (2018, 12)

# =====================================================================================
# 1. KNOBS
# =====================================================================================


@dataclass(frozen=True)
class YearKnobs:
    """What happens to one centre's caseload in one calendar year."""
    enrol: int = 0                                   # risk families enrolled in the year
    exits: Mapping[str, int] = field(default_factory=dict)      # exit_reason -> families
    aaa_enrol: Mapping[str, int] = field(default_factory=dict)  # AAA target group -> families
    aaa_months: tuple[int, ...] = (1, 2, 3, 4)       # months AAA families enrol in (repeat = likelier)
    coverage: float = 0.92        # chance a listed family has >= 1 service contact in a month


@dataclass(frozen=True)
class FormKnobs:
    """Which form each monthly delivery of a centre takes, and when it arrives."""
    default: str                                     # CSV_UTF8 or CSV_CP1257
    xlsx_every: int = 7                              # every Nth month (from the first) ...
    xlsx_offset: int = 0                             # ... at this offset is a workbook
    text_dates_every: int = 2                        # every Nth workbook has text dates
    delimiter_years: Mapping[int, str] = field(default_factory=dict)   # UTF-8 CSV delimiter
    bom_months: tuple[str, ...] = ()                 # "YYYY-MM" written with a UTF-8 BOM
    overrides: Mapping[str, str] = field(default_factory=dict)         # "YYYY-MM" -> form
    delivery_day: int = 4                            # day of the next month it arrives
    delivery_hour: int = 10


@dataclass(frozen=True)
class GroupRun:
    """One run of a group: a code, its session dates and who takes part."""
    code: str
    group_type: str
    dates: tuple[dt.date, ...]
    territory: str
    staff: str
    members: int                   # participants (families for adult groups, else children)
    completers: int = 0            # members attending every session (full-course groups)
    open: bool = False             # top up members who left, month by month
    project: str | None = AUTO


@dataclass(frozen=True)
class EventPlan:
    event_type: str
    title: str
    start: dt.date
    end: dt.date
    territory: str
    families: int                  # families taking part
    who: str = "any"               # any | risk_with_children | aaa
    project: str | None = AUTO


@dataclass(frozen=True)
class PairPlan:
    mentor_ref: str
    start: dt.date
    end: dt.date
    project: str | None = AUTO


@dataclass(frozen=True)
class TrainingPlan:
    topic: str
    start: dt.date
    end: dt.date
    hours: float
    participants: int
    participant_type: str
    project: str | None = AUTO


@dataclass(frozen=True)
class CentreKnobs:
    code: str
    letter: str                                      # case numbers B-0137, staff BS-03, mentor BM-05
    first_ref: int                                   # first family case number
    initial_families: int                            # caseload in the first delivery month
    initial_enrolled: tuple[dt.date, dt.date]        # their enrolled_on lies in this span
    territories: Mapping[str, tuple[str, float]]     # name -> (territory_type, weight)
    years: Mapping[int, YearKnobs]
    forms: FormKnobs
    children_weights: tuple[float, ...]              # P(0, 1, 2, ... children) of a risk family
    adults_weights: tuple[float, ...] = (0.0, 0.45, 0.45, 0.08, 0.02)   # P(0, 1, 2, ... adults)
    service_use: Mapping[str, float] = field(default_factory=dict)      # P(family uses service)
    aaa_service_use: Mapping[str, float] = field(default_factory=dict)
    eea_share: float = 0.9        # share of families whose work is attributed to EEA-2013-150
    unattributed_rate: float = 0.04                  # contacts left without a project
    staff: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # service -> staff refs
    outreach_staff: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # mobile team
    groups: tuple[GroupRun, ...] = ()
    events: tuple[EventPlan, ...] = ()
    pairs: tuple[PairPlan, ...] = ()
    trainings: tuple[TrainingPlan, ...] = ()
    min_stay_months: int = 3                         # no exit sooner after enrolment
    child_missing_rate: float = 0.002                # a child left out of one month's listing
    newborn_rate: float = 0.002                      # per risk family and month
    disability_rate: float = 0.07
    attendance_rate: float = 0.8                     # group members at a session


# Shared by both centres (per-centre overrides would go into CentreKnobs).
REFERRAL_WEIGHTS = {"social_service": 0.58, "orphans_court": 0.12, "school": 0.1, "police": 0.06,
                    "self": 0.09, "other": 0.05}
AAA_REFERRAL_WEIGHTS = {"orphans_court": 0.6, "self": 0.3, "other": 0.1}
RISK_PROBABILITY = {"alcohol": 0.33, "parenting": 0.5, "conflict": 0.28, "parent_abroad": 0.1,
                    "violence": 0.2, "disability": 0.1, "poverty": 0.45, "housing": 0.16}
AAA_CHILDREN = {"foster_family": (0, 0.3, 0.4, 0.3), "guardian": (0, 0.6, 0.4),
                "adoptive": (0, 0.7, 0.3), "potential_foster": (0.8, 0.2)}
# Contacts in a month for a family that uses the service: P(0, 1, 2, ...).
MONTHLY_CONTACTS = {
    "social_work": (0.1, 0.45, 0.3, 0.15), "family_assistant": (0.3, 0.2, 0.2, 0.2, 0.1),
    "psychologist": (0.55, 0.3, 0.15), "legal": (0.7, 0.25, 0.05), "narcologist": (0.6, 0.4),
    "social_rehabilitation": (0.5, 0.3, 0.2), "material_aid": (0.85, 0.15),
    "mentoring": (0.0, 0.2, 0.5, 0.3),
}
FGC_MONTHLY = 0.2          # chance per month that a family planned for an FGC has it
MINUTES = {"social_work": (30, 120), "family_assistant": (60, 240), "psychologist": (45, 90),
           "legal": (30, 60), "narcologist": (30, 60), "social_rehabilitation": (60, 180),
           "mentoring": (60, 180), "family_group_conference": (120, 300)}
MODES = {   # service -> territory_type -> mode weights
    "social_work": {"urban": {"centre": .45, "home_visit": .35, "phone": .17, "online": .03},
                    "rural": {"outreach": .6, "home_visit": .15, "phone": .2, "centre": .05}},
    "family_assistant": {"urban": {"home_visit": .85, "centre": .15},
                         "rural": {"outreach": .7, "home_visit": .3}},
    "psychologist": {"urban": {"centre": .92, "online": .08},
                     "rural": {"centre": .5, "outreach": .42, "online": .08}},
    "legal": {"urban": {"centre": .7, "phone": .25, "online": .05},
              "rural": {"centre": .5, "phone": .35, "outreach": .1, "online": .05}},
    "narcologist": {"urban": {"centre": 1.0}, "rural": {"centre": .8, "outreach": .2}},
    "social_rehabilitation": {"urban": {"centre": .6, "home_visit": .4},
                              "rural": {"outreach": .5, "centre": .5}},
    "mentoring": {"urban": {"centre": .5, "home_visit": .5},
                  "rural": {"outreach": .6, "centre": .4}},
    "family_group_conference": {"urban": {"centre": 1.0}, "rural": {"centre": 1.0}},
    "material_aid": {"urban": {"centre": 1.0}, "rural": {"outreach": .6, "centre": .4}},
}
EEA_SERVICES = frozenset(SERVICES) - {"material_aid"}
# Who may join a group: adults of families, or children in an age band.
GROUP_WHO = {"violence_survivors": ("adult", None), "parents_disability": ("adult", None),
             "parent_support": ("adult", None), "teen_parenting": ("adult", None),
             "foster_training": ("adult", None), "emotional_upbringing": ("child", (4, 10)),
             "children_support": ("child", (7, 17))}


# ---- calendar helpers ----------------------------------------------------------------

def weekly(start: dt.date, n: int, every_days: int = 7) -> tuple[dt.date, ...]:
    return tuple(start + dt.timedelta(days=every_days * i) for i in range(n))


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> dt.date:
    first = D(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def monthly(year: int, months: Sequence[int], weekday: int = 3, nth: int = 2) -> tuple[dt.date, ...]:
    return tuple(nth_weekday(year, m, weekday, nth) for m in months)


def school_year(start: dt.date, end: dt.date, every_days: int = 14) -> tuple[dt.date, ...]:
    """Sessions every `every_days` from start to end, paused June-August and at Christmas."""
    out, d = [], start
    while d <= end:
        if d.month not in (6, 7, 8) and not ((d.month, d.day) >= (12, 20) or (d.month, d.day) <= (1, 6)):
            out.append(d)
        d += dt.timedelta(days=every_days)
    return tuple(out)


def easter(year: int) -> dt.date:
    """Western Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return D(year, month, day + 1)


# ---- BAU ------------------------------------------------------------------------------

def _bau_groups() -> tuple[GroupRun, ...]:
    runs = [
        GroupRun("VARD-2014A", "violence_survivors", weekly(D(2014, 2, 4), 10), "Bauska", "BS-06", 7, 5),
        GroupRun("VARD-2014B", "violence_survivors", weekly(D(2014, 9, 16), 10), "Bauska", "BS-06", 8, 5),
        GroupRun("VARD-2017A", "violence_survivors", weekly(D(2017, 3, 7), 10), "Bauska", "BS-06", 6, 4),
        GroupRun("BEAG-2014P", "emotional_upbringing", weekly(D(2014, 1, 15), 12), "Bauska", "BS-06", 7),
        GroupRun("BEAG-2016P", "emotional_upbringing", weekly(D(2016, 1, 20), 12), "Bauska", "BS-09", 6),
        GroupRun("CAP-2014R", "teen_parenting", weekly(D(2014, 9, 25), 8), "Gailīšu pagasts", "BS-03", 6),
        GroupRun("CAP-2016R", "teen_parenting", weekly(D(2016, 10, 6), 8), "Gailīšu pagasts", "BS-03", 5),
        GroupRun("BAG-2017R", "children_support", weekly(D(2017, 10, 4), 8), "Bauska", "BS-09", 8,
                 project=None),           # volunteers' own initiative, not a funded project's
        GroupRun("AIRI-2018A", "foster_training", weekly(D(2018, 3, 6), 8), "Īslīce", "BS-11", 6,
                 project=BAU_AAA),
        GroupRun("AIRI-2018B", "foster_training", weekly(D(2018, 3, 8), 8), "Bauska", "BS-12", 6,
                 project=BAU_AAA),
    ]
    # Parents' support groups: every school year, in Bauska and in Gailīšu pagasts.
    runs.append(GroupRun("VAG-1213", "parent_support", school_year(D(2013, 1, 8), D(2013, 5, 31)),
                         "Bauska", "BS-02", 8, open=True))
    for y in range(2013, 2018 + 1):
        runs.append(GroupRun(f"VAG-{y % 100:02d}{(y + 1) % 100:02d}", "parent_support",
                             school_year(nth_weekday(y, 9, 1, 1), D(y + 1, 5, 31) if y < 2018
                                         else D(2018, 12, 31)), "Bauska", "BS-02", 8, open=True))
        runs.append(GroupRun(f"VAG-G-{y % 100:02d}{(y + 1) % 100:02d}", "parent_support",
                             school_year(nth_weekday(y, 9, 3, 1), D(y + 1, 5, 31) if y < 2018
                                         else D(2018, 12, 31)), "Gailīšu pagasts", "BS-03", 6,
                             open=True, project=AUTO if y < 2016 else None))   # from 2016 the parish's own
    return tuple(runs)


def _celebrations(years: range, town: str, family_day_place: str,
                  christmas_titles: Mapping[int, str] = {}, easter_titles: Mapping[int, str] = {},
                  womens_day_years: Sequence[int] | None = None, project: str | None = AUTO,
                  families: int = 14) -> list[EventPlan]:
    out = []
    for y in years:
        if womens_day_years is None or y in womens_day_years:
            d = D(y, 3, 8) if D(y, 3, 8).weekday() < 5 else D(y, 3, 8) - dt.timedelta(days=D(y, 3, 8).weekday() - 4)
            out.append(EventPlan("celebration", "Sieviešu dienas pasākums māmiņām", d, d, town,
                                 families - 4, project=project))
        e = easter(y) - dt.timedelta(days=3)
        out.append(EventPlan("celebration", easter_titles.get(y, "Lieldienu pasākums ģimenēm"), e, e,
                             town, families, project=project))
        f = nth_weekday(y, 5, 4, 2)
        out.append(EventPlan("celebration", "Ģimenes dienas pasākums", f, f, family_day_place,
                             families + 4, project=project))
        c = nth_weekday(y, 12, 4, 3)
        out.append(EventPlan("celebration", christmas_titles.get(y, "Ziemassvētku pasākums"), c, c,
                             town, families + 6, project=project))
    return out


def _bau_events() -> tuple[EventPlan, ...]:
    ev = _celebrations(
        range(2013, 2019), "Bauska", "Bauskas pilskalns", project=BAU_FS,
        christmas_titles={2013: "Ziemassvētku pasākums ģimenēm, bērniem un brīvprātīgajiem\n"
                                "Bauskas kultūras centrā",
                          2016: "Ziemassvētku ieskaņas pasākums"})
    ev += [
        EventPlan("camp", "Ģimeņu nometne Mežotnē", D(2013, 7, 10), D(2013, 7, 12), "Mežotnes pagasts", 6,
                  "risk_with_children"),
        EventPlan("camp", "Nometne „Balta māja baltiem sapņiem”", D(2014, 7, 14), D(2014, 7, 16),
                  "Rundāles pagasts", 5, "risk_with_children"),
        EventPlan("camp", "Vasaras nometne Saulgriežu zīmē", D(2015, 6, 17), D(2015, 6, 19), "Jūrmala",
                  6, "risk_with_children"),
        EventPlan("camp", "Ģimeņu nometne Ķemeros", D(2016, 7, 6), D(2016, 7, 9), "Jūrmala", 6,
                  "risk_with_children"),
        EventPlan("camp", "Ģimeņu nometne pirms Jāņiem", D(2017, 6, 19), D(2017, 6, 21), "Ceraukstes pagasts",
                  6, "risk_with_children"),
        EventPlan("camp", "Ģimeņu nometne „Kopā būt”", D(2018, 7, 4), D(2018, 7, 6), "Vecsaules pagasts", 7,
                  "risk_with_children"),
        EventPlan("info_event", "Informatīvs pasākums Īslīces SOS ciematā", D(2018, 2, 15), D(2018, 2, 15),
                  "Īslīce", 8, "aaa", project=BAU_AAA),
        EventPlan("educational", "Brīvprātīgo mentoru rokasgrāmatas prezentācija", D(2015, 5, 26),
                  D(2015, 5, 26), "Bauska", 5),
        EventPlan("seminar", "Projekta noslēguma seminārs", D(2015, 6, 26), D(2015, 6, 26), "Bauska", 6),
        EventPlan("educational", "Radošā darbnīca ģimenēm „Rudens krāsas”", D(2014, 10, 15),
                  D(2014, 10, 15), "Bauska", 9),
        EventPlan("educational", "Izglītojošs pasākums „Drošs internets bērniem”", D(2016, 4, 13),
                  D(2016, 4, 13), "Bauska", 8),
        EventPlan("seminar", "Ģimeņu seminārs „Kā runāt ar pusaudzi”", D(2017, 11, 9), D(2017, 11, 9),
                  "Iecava", 7, project=None),
    ]
    return tuple(ev)


_BAU = CentreKnobs(
    code="BAU", letter="B", first_ref=101, initial_families=68,
    initial_enrolled=(D(2009, 6, 1), D(2012, 12, 20)),
    territories={"Bauska": ("urban", 0.3), "Iecava": ("urban", 0.07), "Gailīšu pagasts": ("rural", 0.14),
                 "Īslīce": ("rural", 0.09), "Vecsaules pagasts": ("rural", 0.06),
                 "Codes pagasts": ("rural", 0.07), "Mežotnes pagasts": ("rural", 0.07),
                 "Brunavas pagasts": ("rural", 0.06), "Ceraukstes pagasts": ("rural", 0.07),
                 "Dāviņu pagasts": ("rural", 0.07)},
    years={
        2013: YearKnobs(enrol=10, exits={"independent": 8, "moved": 5, "declined": 3, "referred": 2,
                                         "other": 1}),
        2014: YearKnobs(enrol=10, exits={"independent": 10, "moved": 5, "declined": 3, "referred": 1,
                                         "other": 1}),
        2015: YearKnobs(enrol=13, exits={"independent": 7, "moved": 3, "declined": 1, "referred": 1}),
        2016: YearKnobs(enrol=14, exits={"independent": 6, "moved": 3, "declined": 2, "other": 1}),
        2017: YearKnobs(enrol=12, exits={"independent": 11, "moved": 7}),
        2018: YearKnobs(enrol=8, exits={"independent": 6, "moved": 2, "referred": 2},
                        aaa_enrol={"foster_family": 6, "guardian": 6, "adoptive": 3, "potential_foster": 5},
                        aaa_months=(1, 1, 2, 2, 2, 3, 4, 5)),
    },
    forms=FormKnobs(default=CSV_UTF8, xlsx_every=7, xlsx_offset=5, delimiter_years={2016: ";"},
                    bom_months=("2015-01",), delivery_day=4,
                    overrides={"2013-12": CSV_UTF8, "2014-03": CSV_UTF8}),
    children_weights=(0.0, 0.2, 0.3, 0.26, 0.13, 0.07, 0.04),
    service_use={"social_work": 1.0, "family_assistant": 0.45, "psychologist": 0.35, "legal": 0.55,
                 "narcologist": 0.5, "social_rehabilitation": 0.2, "material_aid": 0.3,
                 "family_group_conference": 0.05},
    aaa_service_use={"social_work": 1.0, "psychologist": 0.6, "legal": 0.3, "family_assistant": 0.2},
    eea_share=0.85,
    staff={"social_work": ("BS-01", "BS-02"), "family_assistant": ("BS-04", "BS-05"),
           "psychologist": ("BS-06",), "legal": ("BS-07",), "narcologist": ("BS-08",),
           "social_rehabilitation": ("BS-09",), "mentoring": ("BS-10",),
           "family_group_conference": ("BS-02",), "material_aid": ("BS-01",)},
    outreach_staff={"social_work": ("BS-03",), "family_assistant": ("BS-05",),
                    "material_aid": ("BS-03",)},
    groups=_bau_groups(), events=_bau_events(),
    pairs=(PairPlan("BM-01", D(2014, 3, 12), D(2015, 4, 29)), PairPlan("BM-02", D(2014, 4, 2), D(2015, 6, 17)),
           PairPlan("BM-03", D(2014, 5, 7), D(2015, 2, 25)), PairPlan("BM-04", D(2016, 2, 3), D(2016, 11, 30)),
           PairPlan("BM-05", D(2017, 9, 6), D(2018, 6, 27))),
    trainings=(
        TrainingPlan("mentor_training", D(2014, 2, 21), D(2014, 2, 22), 12, 3, "volunteer_mentor"),
        TrainingPlan("family_group_conference", D(2014, 4, 7), D(2014, 4, 9), 24, 10, "social_worker"),
        TrainingPlan("family_assistant", D(2014, 5, 12), D(2014, 5, 13), 16, 2, "family_assistant"),
        TrainingPlan("other", D(2016, 10, 13), D(2016, 10, 13), 6, 5, "social_worker", None),
        TrainingPlan("other", D(2017, 3, 16), D(2017, 3, 16), 3.5, 4, "family_assistant", None),
        TrainingPlan("mentor_training", D(2017, 8, 24), D(2017, 8, 25), 12, 2, "volunteer_mentor", BAU_FS),
        TrainingPlan("airi", D(2018, 1, 22), D(2018, 1, 24), 24, 2, "other", BAU_AAA),
        TrainingPlan("other", D(2018, 9, 20), D(2018, 9, 20), 4, 9, "foster_parent", BAU_AAA),
    ),
)


# ---- VAL ------------------------------------------------------------------------------

def _val_groups() -> tuple[GroupRun, ...]:
    runs = [
        GroupRun("BEAG-2014R", "emotional_upbringing", weekly(D(2014, 9, 10), 10), "Valmiera", "VS-04", 6),
        GroupRun("BEAG-2017P", "emotional_upbringing", weekly(D(2017, 2, 8), 10), "Valmiera", "VS-04", 6),
        GroupRun("BAG-2014R", "children_support", weekly(D(2014, 10, 2), 10), "Valmiera", "VS-06", 7),
        GroupRun("BAG-2016P", "children_support", weekly(D(2016, 3, 3), 8), "Kocēnu pagasts", "VS-06", 6),
        GroupRun("CAP-2015P", "teen_parenting", weekly(D(2015, 2, 12), 8), "Valmiera", "VS-02", 6),
        GroupRun("CAP-2018R", "teen_parenting", weekly(D(2018, 10, 4), 8), "Valmiera", "VS-02", 5),
    ]
    # Parents of children with disabilities: monthly, all year round.
    runs.append(GroupRun("VBI-2013", "parents_disability", monthly(2013, (12,)), "Valmiera", "VS-05", 6,
                         open=True))
    for y in range(2014, 2019):
        runs.append(GroupRun(f"VBI-{y}", "parents_disability", monthly(y, range(1, 13)), "Valmiera",
                             "VS-05", 6, open=True))
    for y in range(2014, 2019):
        runs.append(GroupRun(f"VAG-{y % 100:02d}{(y + 1) % 100:02d}", "parent_support",
                             school_year(nth_weekday(y, 9, 0, 2), D(y + 1, 5, 31) if y < 2018
                                         else D(2018, 12, 31)), "Valmiera", "VS-01", 7, open=True))
    return tuple(runs)


def _val_events() -> tuple[EventPlan, ...]:
    ev = _celebrations(range(2014, 2019), "Valmiera", "Valmiera", project=None, families=10,
                       womens_day_years=(2015, 2017, 2018),
                       easter_titles={2014: "Lieldienu pasākums; olu krāsošana\nun rotaļas"})
    ev.append(EventPlan("celebration", "Ziemassvētku pasākums", D(2013, 12, 19), D(2013, 12, 19),
                        "Valmiera", 12, project=None))
    ev += [
        EventPlan("camp", "Nometne „Latviešu dzīves gudrība”", D(2014, 6, 18), D(2014, 6, 21),
                  "Trikātas pagasts", 5, "risk_with_children"),
        EventPlan("camp", "Ģimeņu nometne Gaujas krastā", D(2015, 7, 8), D(2015, 7, 10), "Valmieras pagasts",
                  5, "risk_with_children"),
        EventPlan("camp", "Ģimeņu nometne „Rūķu ciems”", D(2016, 6, 27), D(2016, 6, 30), "Burtnieku pagasts",
                  6, "risk_with_children"),
        EventPlan("camp", "Vasaras nometne ģimenēm", D(2017, 7, 12), D(2017, 7, 14), "Brenguļu pagasts", 5,
                  "risk_with_children"),
        EventPlan("camp", "Ģimeņu nometne Jāņos", D(2018, 6, 26), D(2018, 6, 28), "Rūjiena", 6,
                  "risk_with_children", project=None),
        EventPlan("educational", "Lekcija par bērna attīstības posmiem", D(2014, 11, 12), D(2014, 11, 12),
                  "Valmiera", 8),
        EventPlan("seminar", "Ģimeņu seminārs „Vecāku loma bērna dzīvē”", D(2015, 3, 18), D(2015, 3, 18),
                  "Valmiera", 7),
        EventPlan("educational", "Radošā darbnīca ģimenēm", D(2017, 10, 18), D(2017, 10, 18), "Valmiera", 7,
                  project=None),
        EventPlan("seminar", "Seminārs „Kā pasargāt bērnu no vardarbības”", D(2016, 11, 16),
                  D(2016, 11, 16), "Valmiera", 6, project=None),
    ]
    return tuple(ev)


_VAL = CentreKnobs(
    code="VAL", letter="V", first_ref=1, initial_families=30,
    initial_enrolled=(D(2012, 3, 1), D(2013, 10, 25)),
    territories={"Valmiera": ("urban", 0.42), "Rūjiena": ("urban", 0.06), "Kocēnu pagasts": ("rural", 0.12),
                 "Valmieras pagasts": ("rural", 0.08), "Brenguļu pagasts": ("rural", 0.07),
                 "Trikātas pagasts": ("rural", 0.07), "Burtnieku pagasts": ("rural", 0.08),
                 "Jeru pagasts": ("rural", 0.05), "Dikļu pagasts": ("rural", 0.05)},
    years={
        2013: YearKnobs(enrol=6),
        2014: YearKnobs(enrol=36, exits={"independent": 8, "moved": 4, "declined": 2, "referred": 1,
                                         "other": 1}),
        2015: YearKnobs(enrol=16, exits={"independent": 9, "moved": 5, "declined": 2, "referred": 2}),
        2016: YearKnobs(enrol=12, exits={"independent": 6, "moved": 3, "declined": 2, "other": 1}),
        2017: YearKnobs(enrol=10, exits={"independent": 7, "moved": 3, "referred": 2}),
        2018: YearKnobs(enrol=10, exits={"independent": 5, "moved": 3, "declined": 1, "other": 1}),
    },
    forms=FormKnobs(default=CSV_CP1257, xlsx_every=7, xlsx_offset=2, delivery_day=6,
                    overrides={"2014-04": CSV_CP1257}),
    children_weights=(0.0, 0.42, 0.34, 0.15, 0.06, 0.03),
    service_use={"social_work": 1.0, "family_assistant": 0.4, "psychologist": 0.75, "legal": 0.4,
                 "narcologist": 0.3, "social_rehabilitation": 0.15, "material_aid": 0.2,
                 "family_group_conference": 0.05},
    eea_share=1.0, unattributed_rate=0.0,
    staff={"social_work": ("VS-01", "VS-02"), "family_assistant": ("VS-03",), "psychologist": ("VS-04",),
           "legal": ("VS-07",), "narcologist": ("VS-08",), "social_rehabilitation": ("VS-06",),
           "mentoring": ("VS-09",), "family_group_conference": ("VS-01",), "material_aid": ("VS-02",)},
    outreach_staff={"social_work": ("VS-02",)},
    groups=_val_groups(), events=_val_events(),
    pairs=(PairPlan("VM-01", D(2014, 3, 19), D(2015, 5, 20)), PairPlan("VM-02", D(2014, 4, 9), D(2015, 6, 10)),
           PairPlan("VM-03", D(2014, 10, 1), D(2015, 6, 24)), PairPlan("VM-04", D(2016, 10, 5), D(2017, 5, 31))),
    trainings=(
        TrainingPlan("mentor_training", D(2014, 2, 14), D(2014, 2, 15), 12, 3, "volunteer_mentor"),
        TrainingPlan("family_assistant", D(2014, 5, 20), D(2014, 5, 21), 16, 2, "family_assistant"),
        TrainingPlan("family_group_conference", D(2014, 10, 6), D(2014, 10, 8), 24, 10, "social_worker"),
        TrainingPlan("mentor_training", D(2016, 9, 8), D(2016, 9, 9), 12, 2, "volunteer_mentor", None),
        TrainingPlan("other", D(2016, 9, 22), D(2016, 9, 22), 7.5, 4, "social_worker", None),
    ),
)

# The knobs of every simulated centre. Calibration edits these.
KNOBS: dict[str, CentreKnobs] = {"BAU": _BAU, "VAL": _VAL}

# The correction: this centre-month is delivered twice (first as a CSV folder, then as
# a workbook with a few rows changed).
CORRECTION = ("BAU", 2014, 3)


def check_knobs(knobs: Mapping[str, CentreKnobs]) -> None:
    """Every code the knobs name is one of the contract's (contract.py): fail early, not in intake."""
    def within(what, values, allowed):
        extra = set(values) - set(allowed)
        if extra:
            raise ValueError(f"sample knobs: {what}: {sorted(extra)} not in the contract's {sorted(allowed)}")

    within("referral sources", list(REFERRAL_WEIGHTS) + list(AAA_REFERRAL_WEIGHTS), contract.REFERRAL_SOURCES)
    within("risk factors", RISK_PROBABILITY, RISK_FACTORS)
    within("target groups", AAA_CHILDREN, contract.TARGET_GROUPS)
    within("services", list(MODES) + list(MINUTES) + list(MONTHLY_CONTACTS), SERVICES)
    within("modes", {m for by_type in MODES.values() for w in by_type.values() for m in w}, contract.MODES)
    within("group types", GROUP_WHO, contract.GROUP_TYPES)
    for k in knobs.values():
        within(f"{k.code} territory types", {t for t, _ in k.territories.values()}, contract.TERRITORY_TYPES)
        within(f"{k.code} services", list(k.service_use) + list(k.aaa_service_use) + list(k.staff), SERVICES)
        for y, yk in k.years.items():
            within(f"{k.code} {y} exit reasons", yk.exits, contract.EXIT_REASONS)
            within(f"{k.code} {y} AAA groups", yk.aaa_enrol, AAA_GROUPS)
        within(f"{k.code} group types", {g.group_type for g in k.groups}, contract.GROUP_TYPES)
        within(f"{k.code} event types", {e.event_type for e in k.events}, contract.EVENT_TYPES)
        within(f"{k.code} training topics", {t.topic for t in k.trainings}, contract.TRAINING_TOPICS)
        within(f"{k.code} participant types", {t.participant_type for t in k.trainings},
               contract.PARTICIPANT_TYPES)
    within("AAA groups", AAA_GROUPS, contract.TARGET_GROUPS)


# =====================================================================================
# 2. SIMULATION
# =====================================================================================

@dataclass
class Child:
    ref: str
    birth_year: int
    sex: str
    disability: str | None


@dataclass
class Family:
    ref: str
    enrolled_on: dt.date
    territory: str
    territory_type: str
    target_group: str
    referral_source: str | None
    risk_factors: tuple[str, ...]
    adults: int
    children: list[Child]
    uses: frozenset[str]
    eea: bool
    exited_on: dt.date | None = None
    exit_reason: str | None = None
    protected_until: dt.date = dt.date.min      # no exit before this (groups, mentoring)
    fgc_done: bool = False

    def active_on(self, day: dt.date) -> bool:
        return self.enrolled_on <= day and (self.exited_on is None or day <= self.exited_on)


class Attribution:
    """Which project an activity is attributed to (domain.md, 'Projects and funders')."""

    def __init__(self, ref: reference.Reference):
        self.projects = ref.projects

    def covers(self, code: str, centre: str, day: dt.date, services: bool = True) -> bool:
        p = self.projects.get(code)
        if p is None or centre not in p.centres:
            return False
        end = p.services_end if services and p.services_end else p.end
        return p.start <= day <= end

    def auto(self, centre: str, day: dt.date, kind: str = "") -> str | None:
        if self.covers(EEA, centre, day):
            return EEA
        if kind == "camp":
            return ABLV if self.covers(ABLV, centre, day) else None
        return BAU_FS if self.covers(BAU_FS, centre, day) else None

    def resolve(self, planned: str | None, centre: str, day: dt.date, kind: str = "") -> str | None:
        if planned == AUTO:
            return self.auto(centre, day, kind)
        return planned if planned is None or self.covers(planned, centre, day, False) else None

    def service(self, centre: str, fam: Family, service: str, day: dt.date, rng: random.Random,
                unattributed_rate: float) -> str | None:
        if fam.target_group in AAA_GROUPS:
            return BAU_AAA if self.covers(BAU_AAA, centre, day) else None
        if fam.eea and service in EEA_SERVICES and self.covers(EEA, centre, day):
            return EEA
        if service == "material_aid" or rng.random() < unattributed_rate:
            return None
        return BAU_FS if self.covers(BAU_FS, centre, day) else None


def month_bounds(y: int, m: int) -> tuple[dt.date, dt.date]:
    return D(y, m, 1), D(y, m, calendar.monthrange(y, m)[1])


def months(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    out, (y, m) = [], first
    while (y, m) <= last:
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def rand_day(rng: random.Random, lo: dt.date, hi: dt.date) -> dt.date:
    return lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))


def weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def draw_count(rng: random.Random, probabilities: Sequence[float]) -> int:
    return rng.choices(range(len(probabilities)), weights=probabilities)[0]


@dataclass
class MonthDelivery:
    centre: str
    year: int
    month: int
    tables: dict[str, list[dict]]

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def name(self) -> str:
        return f"{self.centre}_{self.label}"


class CentreSim:
    """One centre's caseload and work, month by month."""

    STREAMS = ("roster", "children", "services", "groups", "events", "mentoring")

    def __init__(self, knobs: CentreKnobs, centre: reference.Centre, attribution: Attribution,
                 seed: int):
        self.k, self.attr = knobs, attribution
        self.code = knobs.code
        self.first = (centre.active_from.year, centre.active_from.month)
        self.rng = {s: random.Random(f"{seed}:{knobs.code}:{s}") for s in self.STREAMS}
        self.families: list[Family] = []
        self.next_ref = knobs.first_ref
        self.enrol_plan: dict[tuple[int, int], list[str]] = {}
        self.exit_plan: dict[tuple[int, int], list[str]] = {}
        self.members: dict[str, list[dict]] = {}          # group code -> members
        self.pair_child: dict[int, tuple[Family, Child] | None] = {}
        self.protected_children: dict[str, dt.date] = {}

    # ---- roster ------------------------------------------------------------------------

    def new_family(self, enrolled_on: dt.date, target_group: str = "risk_family") -> Family:
        r, k = self.rng["roster"], self.k
        ref = f"{k.letter}-{self.next_ref:04d}"
        self.next_ref += 1
        territory = weighted(r, {t: w for t, (_, w) in k.territories.items()})
        risk = target_group == "risk_family"
        if risk:
            factors = tuple(f for f in RISK_FACTORS if r.random() < RISK_PROBABILITY[f]) or ("parenting",)
            if r.random() < 0.03:
                factors = ()
            referral = weighted(r, REFERRAL_WEIGHTS) if r.random() > 0.03 else None
            n_children = max(1, draw_count(r, k.children_weights))
            uses = {s for s, p in k.service_use.items() if r.random() < p}
            if "alcohol" not in factors:
                uses.discard("narcologist")
        else:
            factors = ()
            referral = weighted(r, AAA_REFERRAL_WEIGHTS)
            n_children = draw_count(r, AAA_CHILDREN[target_group])
            uses = {s for s, p in k.aaa_service_use.items() if r.random() < p}
        uses.add("social_work")
        adults = max(1, draw_count(r, k.adults_weights))
        children = [self.new_child(ref, i + 1, enrolled_on.year) for i in range(n_children)]
        if "disability" in factors and children and all(c.disability != "yes" for c in children):
            children[0].disability = "yes"
        return Family(ref, enrolled_on, territory, k.territories[territory][0], target_group, referral,
                      factors, adults, children, frozenset(uses), r.random() < k.eea_share)

    def new_child(self, family_ref: str, n: int, year: int, age: int | None = None) -> Child:
        r = self.rng["roster"]
        if age is None:
            age = r.choices(range(18), weights=[4, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 5, 5, 5, 4, 3])[0]
        x = r.random()
        disability = "yes" if x < self.k.disability_rate else (None if x > 0.96 else "no")
        return Child(f"{family_ref}-{n}", year - age, r.choice(("F", "M")), disability)

    def plan_year(self, y: int) -> None:
        r, yk = self.rng["roster"], self.k.years.get(y, YearKnobs())
        active = [m for (yy, m) in months(self.first, LAST_MONTH) if yy == y]
        for _ in range(yk.enrol):
            self.enrol_plan.setdefault((y, r.choice(active)), []).append("risk_family")
        for group, n in yk.aaa_enrol.items():
            for _ in range(n):
                self.enrol_plan.setdefault((y, r.choice(yk.aaa_months)), []).append(group)
        reasons = [reason for reason, n in yk.exits.items() for _ in range(n)]
        r.shuffle(reasons)
        for reason in reasons:
            self.exit_plan.setdefault((y, r.choice(active)), []).append(reason)

    def enrol(self, y: int, m: int) -> None:
        first, last = month_bounds(y, m)
        if (y, m) == self.first:
            lo, hi = self.k.initial_enrolled
            for _ in range(self.k.initial_families):
                self.families.append(self.new_family(rand_day(self.rng["roster"], lo, hi)))
            self.families.sort(key=lambda f: f.enrolled_on)
            for i, f in enumerate(self.families):       # case numbers in enrolment order
                self.renumber(f, f"{self.k.letter}-{self.k.first_ref + i:04d}")
        for group in self.enrol_plan.get((y, m), []):
            self.families.append(self.new_family(rand_day(self.rng["roster"], first, last), group))

    @staticmethod
    def renumber(f: Family, ref: str) -> None:
        for c in f.children:
            c.ref = ref + c.ref[len(f.ref):]
        f.ref = ref

    def exit(self, y: int, m: int) -> None:
        r = self.rng["roster"]
        first, last = month_bounds(y, m)
        for reason in self.exit_plan.get((y, m), []):
            candidates = [f for f in self.families if f.exited_on is None
                          and f.target_group == "risk_family" and f.protected_until < first
                          and (first - f.enrolled_on).days >= 30 * self.k.min_stay_months]
            if not candidates:
                continue
            f = r.choice(candidates)
            f.exited_on, f.exit_reason = rand_day(r, first, last), reason

    def listed(self, first: dt.date, last: dt.date) -> list[Family]:
        return sorted((f for f in self.families if f.enrolled_on <= last
                       and (f.exited_on is None or f.exited_on >= first)), key=lambda f: f.ref)

    def children_of(self, fams: list[Family], y: int, first: dt.date) -> dict[str, list[Child]]:
        r = self.rng["children"]
        out = {}
        for f in fams:
            if f.target_group == "risk_family" and r.random() < self.k.newborn_rate:
                f.children.append(Child(f"{f.ref}-{len(f.children) + 1}", y, r.choice(("F", "M")), "no"))
            kids = []
            for c in f.children:
                if not 0 <= y - c.birth_year <= 24:
                    continue
                protected = self.protected_children.get(c.ref, dt.date.min) >= first
                if not protected and r.random() < self.k.child_missing_rate:
                    continue            # left out of this month's listing
                kids.append(c)
            out[f.ref] = kids
        return out

    # ---- activities --------------------------------------------------------------------

    def services(self, fams: list[Family], kids: dict[str, list[Child]], y: int, m: int,
                 first: dt.date, last: dt.date, mentored: dict[str, Child]) -> list[dict]:
        r, k = self.rng["services"], self.k
        coverage = k.years.get(y, YearKnobs()).coverage
        contacts = []
        for f in fams:
            lo, hi = max(first, f.enrolled_on), min(last, f.exited_on or last)
            if r.random() > coverage and f.ref not in mentored:
                continue
            todo: list[str] = []
            for s in SERVICES:
                if s in f.uses and s in MONTHLY_CONTACTS:
                    todo += [s] * draw_count(r, MONTHLY_CONTACTS[s])
            if "family_group_conference" in f.uses and not f.fgc_done and r.random() < FGC_MONTHLY:
                todo.append("family_group_conference")
                f.fgc_done = True
            if f.ref in mentored:
                todo += ["mentoring"] * max(1, draw_count(r, MONTHLY_CONTACTS["mentoring"]))
            if not todo:
                todo = ["social_work"]
            for s in todo:
                contacts.append(self.contact(f, s, rand_day(r, lo, hi), kids[f.ref], mentored.get(f.ref)))
        contacts.sort(key=lambda c: (c["date"], c["family_ref"], SERVICES.index(c["service"])))
        for i, c in enumerate(contacts, 1):
            c["contact_id"] = f"{self.code}-S-{y:04d}-{m:02d}-{i:04d}"
        return [{col: c.get(col) for col in TABLES["services"].column_names} for c in contacts]

    def contact(self, f: Family, service: str, day: dt.date, kids: list[Child],
                mentee: Child | None) -> dict:
        r, k = self.rng["services"], self.k
        mode = weighted(r, MODES[service][f.territory_type])
        pool = k.outreach_staff.get(service) if mode == "outreach" else None
        staff = r.choice(pool or k.staff[service])
        child = None
        if service == "mentoring":
            child = mentee
        elif service in ("psychologist", "social_rehabilitation") and kids and r.random() < 0.45:
            child = r.choice(kids)
        minutes = None
        if service in MINUTES:
            lo, hi = MINUTES[service]
            minutes = r.randrange(lo, hi + 1, 5)
        project = self.attr.service(self.code, f, service, day, r, k.unattributed_rate)
        return dict(date=day, family_ref=f.ref, child_ref=child.ref if child else None, service=service,
                    minutes=minutes, mode=mode, staff_ref=staff, project=project)

    def group_candidates(self, run: GroupRun, fams: list[Family], kids: dict[str, list[Child]],
                         day: dt.date, y: int, taken: set) -> list[tuple[Family, Child | None]]:
        who, ages = GROUP_WHO[run.group_type]
        out = []
        for f in fams:
            if not f.active_on(day) or f.exited_on is not None:
                continue
            aaa = f.target_group in AAA_GROUPS
            if (run.group_type == "foster_training") != aaa:
                continue
            if who == "child":
                out += [(f, c) for c in kids[f.ref] if ages[0] <= y - c.birth_year <= ages[1]
                        and c.ref not in taken]
            elif f.ref not in taken and self.adult_fits(run.group_type, f, kids[f.ref], y):
                out.append((f, None))
        return out

    @staticmethod
    def adult_fits(group_type: str, f: Family, kids: list[Child], y: int) -> bool:
        if group_type == "violence_survivors":
            return "violence" in f.risk_factors or "conflict" in f.risk_factors
        if group_type == "parents_disability":
            return any(c.disability == "yes" for c in kids) or "disability" in f.risk_factors
        if group_type == "teen_parenting":
            return any(12 <= y - c.birth_year <= 17 for c in kids)
        if group_type == "parent_support":
            return bool({"parenting", "conflict", "alcohol"} & set(f.risk_factors))
        return True

    @staticmethod
    def member_key(mb: dict) -> str:
        return mb["child"].ref if mb["child"] else mb["family"].ref

    def fill_group(self, run: GroupRun, fams, kids, day: dt.date, y: int) -> None:
        r = self.rng["groups"]
        members = self.members.setdefault(run.code, [])
        present = [mb for mb in members if mb["family"].exited_on is None or mb["family"].exited_on >= day]
        if members and (not run.open or len(present) >= run.members):
            return
        taken = {self.member_key(mb) for mb in present}
        for other in self.k.groups:             # nobody in two runs of one group type at once
            if other.code != run.code and other.group_type == run.group_type \
                    and other.dates[0] <= run.dates[-1] and run.dates[0] <= other.dates[-1]:
                taken |= {self.member_key(mb) for mb in self.members.get(other.code, [])}
            elif other.code != run.code and other.group_type == run.group_type \
                    and FULL_COURSE_SESSIONS.get(run.group_type):   # who completed the course once
                taken |= {self.member_key(mb) for mb in self.members.get(other.code, []) if mb["completer"]}
        pool = self.group_candidates(run, fams, kids, day, y, taken)
        r.shuffle(pool)
        full = FULL_COURSE_SESSIONS.get(run.group_type)
        for f, c in pool[: run.members - len(present)]:
            completer = len(members) < run.completers
            mb = dict(family=f, child=c, completer=completer, miss=None)
            if full and not completer:
                mb["miss"] = r.randrange(min(full, len(run.dates)))    # never reaches the full course
            if completer:
                f.protected_until = max(f.protected_until, run.dates[-1])
                if c:
                    self.protected_children[c.ref] = max(self.protected_children.get(c.ref, D.min),
                                                         run.dates[-1])
            members.append(mb)

    def groups(self, fams, kids, y: int, m: int, first: dt.date, last: dt.date):
        r = self.rng["groups"]
        sessions, attendance = [], []
        held = sorted(((d, run) for run in self.k.groups for d in run.dates if first <= d <= last),
                      key=lambda x: (x[0], x[1].code))
        listed_kids = {c.ref for cs in kids.values() for c in cs}
        for n, (day, run) in enumerate(held, 1):
            self.fill_group(run, fams, kids, day, y)
            sid = f"{self.code}-G-{y:04d}-{m:02d}-{n:02d}"
            sessions.append(dict(session_id=sid, group_code=run.code, group_type=run.group_type, date=day,
                                 territory=run.territory, staff_ref=run.staff,
                                 project=self.attr.resolve(run.project, self.code, day)))
            index = run.dates.index(day)
            for mb in self.members.get(run.code, []):
                f, c = mb["family"], mb["child"]
                if not f.active_on(day) or (c and c.ref not in listed_kids) or mb["miss"] == index:
                    continue
                if mb["completer"] or r.random() < self.k.attendance_rate:
                    attendance.append(dict(session_id=sid, family_ref=f.ref, child_ref=c.ref if c else None))
        return sessions, attendance

    def events(self, fams, kids, y: int, m: int, first: dt.date, last: dt.date):
        r = self.rng["events"]
        events, participants = [], []
        planned = sorted((e for e in self.k.events if first <= e.start <= last), key=lambda e: (e.start, e.title))
        for n, e in enumerate(planned, 1):
            eid = f"{self.code}-E-{y:04d}-{m:02d}-{n:02d}"
            events.append(dict(event_id=eid, event_type=e.event_type, title=e.title, start_date=e.start,
                               end_date=e.end, territory=e.territory,
                               project=self.attr.resolve(e.project, self.code, e.start, e.event_type)))
            pool = [f for f in fams if f.active_on(e.start) and self.event_fits(e, f, kids[f.ref], y)]
            r.shuffle(pool)
            for f in sorted(pool[: e.families], key=lambda f: f.ref):
                minors = [c for c in kids[f.ref] if y - c.birth_year <= 17]
                if e.event_type == "camp":
                    adults, children = 1, len(minors)
                else:
                    adults = r.randint(1, min(2, f.adults))
                    children = r.randint(min(1, len(minors)), len(minors))
                    if children and r.random() < 0.05:
                        adults = 0          # children came without their parents
                participants.append(dict(event_id=eid, family_ref=f.ref, adults=adults,
                                         children=min(children, 15)))
        return events, participants

    @staticmethod
    def event_fits(e: EventPlan, f: Family, kids: list[Child], y: int) -> bool:
        if e.who == "aaa":
            return f.target_group in AAA_GROUPS
        if e.who == "risk_with_children":
            return f.target_group == "risk_family" and any(y - c.birth_year <= 17 for c in kids) \
                and f.exited_on is None
        return True

    def mentoring(self, fams, kids, y: int, m: int, first: dt.date, last: dt.date):
        r = self.rng["mentoring"]
        rows, mentored = [], {}
        for i, p in enumerate(self.k.pairs):
            if not (p.start <= last and p.end >= first):
                continue
            if i not in self.pair_child:
                pool = [(f, c) for f in fams if f.target_group == "risk_family" and f.active_on(p.start)
                        and f.exited_on is None and f.protected_until < p.start
                        for c in kids[f.ref] if 7 <= y - c.birth_year <= 15]
                preferred = [fc for fc in pool if fc[0].eea] or pool
                self.pair_child[i] = r.choice(preferred) if preferred else None
                if self.pair_child[i]:
                    f, c = self.pair_child[i]
                    f.protected_until = max(f.protected_until, p.end)
                    self.protected_children[c.ref] = p.end
            if not self.pair_child[i]:
                continue
            f, c = self.pair_child[i]
            mentored[f.ref] = c
            rows.append(dict(pair_id=f"{self.code}-P-{p.start.year:04d}-{p.start.month:02d}-{i + 1:02d}",
                             mentor_ref=p.mentor_ref, family_ref=f.ref, child_ref=c.ref, started_on=p.start,
                             ended_on=p.end if p.end <= last else None,
                             project=self.attr.resolve(p.project, self.code, p.start)))
        return rows, mentored

    def trainings(self, y: int, m: int, first: dt.date, last: dt.date) -> list[dict]:
        planned = sorted((t for t in self.k.trainings if first <= t.start <= last), key=lambda t: t.start)
        return [dict(training_id=f"{self.code}-T-{y:04d}-{m:02d}-{n:02d}", topic=t.topic, start_date=t.start,
                     end_date=t.end, hours=t.hours, participants=t.participants,
                     participant_type=t.participant_type,
                     project=self.attr.resolve(t.project, self.code, t.start))
                for n, t in enumerate(planned, 1)]

    # ---- one month -------------------------------------------------------------------------

    def month(self, y: int, m: int) -> MonthDelivery:
        first, last = month_bounds(y, m)
        if m == 1 or (y, m) == self.first:
            self.plan_year(y)
        self.enrol(y, m)
        self.exit(y, m)
        fams = self.listed(first, last)
        kids = self.children_of(fams, y, first)
        pairs, mentored = self.mentoring(fams, kids, y, m, first, last)
        sessions, attendance = self.groups(fams, kids, y, m, first, last)
        events, participants = self.events(fams, kids, y, m, first, last)
        trainings = self.trainings(y, m, first, last)
        services = self.services(fams, kids, y, m, first, last, mentored)
        tables = dict(
            families=[family_row(f) for f in fams],
            children=[dict(child_ref=c.ref, family_ref=f.ref, birth_year=c.birth_year, sex=c.sex,
                           disability=c.disability) for f in fams for c in kids[f.ref]],
            services=services, group_sessions=sessions, group_attendance=attendance, events=events,
            event_participants=participants, mentoring=pairs, trainings=trainings)
        # Exited families drop off the caseload from the next month.
        self.families = [f for f in self.families if f.exited_on is None or f.exited_on > last]
        return MonthDelivery(self.code, y, m, tables)

    def run(self) -> list[MonthDelivery]:
        return [self.month(y, m) for y, m in months(self.first, LAST_MONTH)]


def family_row(f: Family) -> dict:
    return dict(family_ref=f.ref, enrolled_on=f.enrolled_on, exited_on=f.exited_on, exit_reason=f.exit_reason,
                territory=f.territory, territory_type=f.territory_type, target_group=f.target_group,
                referral_source=f.referral_source, risk_factors=";".join(f.risk_factors) or None,
                adults=f.adults)


def simulate(seed: int = 2013, knobs: Mapping[str, CentreKnobs] | None = None,
             ref: reference.Reference | None = None, calibrate: bool = True) -> list[MonthDelivery]:
    """Every centre's monthly deliveries (tables only, nothing written), calibrated to the
    published figures (`Calibrator`) unless `calibrate` is false."""
    ref = ref or reference.load()
    check_knobs(knobs or KNOBS)
    attribution = Attribution(ref)
    out = []
    for code, k in (knobs or KNOBS).items():
        out += CentreSim(k, ref.centres[code], attribution, seed).run()
    if calibrate:
        Calibrator(out, knobs or KNOBS, seed).run()
    return out


# =====================================================================================
# 2b. CALIBRATION to domain.md's published figures (calibration.PUBLISHED)
# =====================================================================================
# The simulation gives a realistic caseload; which families each project serves in a month
# is then decided here, so that the published figures hold by construction:
# - EEA-2013-150 (both centres): which families the project takes on and when (its reporting
#   periods' new families), sized so that their children add up; which of them use the
#   psychologist, the lawyer, a family group conference; the families of the VAL camp.
# - BAU-FS (BAU) in 2013, 2014, 2015 and 2017: which families the municipality's social work
#   serves each month (monthly counts of families and children, the year's distinct ones).
# The services are then attributed accordingly: the municipality funds social work, the EEA
# project psychologist, lawyer, family assistant, FGC and mentoring (and VAL's social work); a
# family can be served by both in a month. Contacts are added where a served family had none
# of the right kind; a family served by neither project in a month keeps its contacts
# unattributed. Group sessions and events keep their projects: their families count as served.

EEA_SERVICES_END = D(2015, 6, 30)
EEA_GROUPS = ((D(2013, 11, 15), D(2014, 5, 14), None, "P2"), (D(2014, 5, 15), D(2014, 8, 14), "P2", "P3"),
              (D(2014, 8, 15), D(2014, 11, 14), "P3", "P4"), (D(2014, 11, 15), D(2015, 2, 14), "P4", "P5"),
              (D(2015, 2, 15), D(2015, 5, 14), "P5", "P6"), (D(2015, 5, 15), EEA_SERVICES_END, "P6", None))
BAU_FS_CALIBRATED = (2013, 2014, 2015, 2017)


def _published() -> dict[str, int]:
    from sos_pipeline.sample.calibration import PUBLISHED
    return PUBLISHED


@dataclass
class _Fam:
    """One family's months in a centre's deliveries (for the calibration)."""
    centre: str
    ref: str
    enrolled_on: dt.date
    exited_on: dt.date | None = None
    months: dict = field(default_factory=dict)      # (y, m) -> (active lo, active hi, frozenset(kids))


class Calibrator:
    def __init__(self, deliveries: list[MonthDelivery], knobs: Mapping[str, CentreKnobs], seed: int):
        self.deliveries, self.knobs = deliveries, knobs
        self.rng = random.Random(f"{seed}:calibration")
        self.md = {(d.centre, d.year, d.month): d for d in deliveries}
        self.pub = _published()
        self.fams: dict[tuple[str, str], _Fam] = {}
        self.forced: dict[tuple, dict[str, dt.date]] = defaultdict(dict)   # (project, centre, y, m) -> fam -> day

    # ---- index --------------------------------------------------------------------------

    def index(self) -> None:
        for (c, y, m), md in sorted(self.md.items()):
            first, last = month_bounds(y, m)
            t = md.tables
            kids: dict[str, set] = defaultdict(set)
            for r in t["children"]:
                kids[r["family_ref"]].add(r["child_ref"])
            for r in t["families"]:
                f = self.fams.setdefault((c, r["family_ref"]), _Fam(c, r["family_ref"], r["enrolled_on"]))
                f.exited_on = r["exited_on"] or f.exited_on
                f.months[(y, m)] = (max(first, r["enrolled_on"]), min(last, r["exited_on"] or last),
                                    frozenset(kids[r["family_ref"]]))
            sessions = {s["session_id"]: s for s in t.get("group_sessions", [])}
            events = {e["event_id"]: e for e in t.get("events", [])}
            acts = [(sessions[a["session_id"]]["project"], a["family_ref"], sessions[a["session_id"]]["date"])
                    for a in t.get("group_attendance", [])]
            repick = c == "BAU" and y in BAU_FS_CALIBRATED       # see repick_events
            acts += [(events[p["event_id"]]["project"], p["family_ref"], events[p["event_id"]]["start_date"])
                     for p in t.get("event_participants", [])
                     if not (repick and events[p["event_id"]]["project"] == BAU_FS)
                     and not (events[p["event_id"]]["project"] == EEA and (c, events[p["event_id"]]["start_date"])
                              != ("VAL", D(2014, 6, 18)))]
            mentored = {p["family_ref"] for p in t.get("mentoring", []) if p["project"] == EEA}
            acts += [(EEA, s["family_ref"], s["date"]) for s in t["services"]
                     if s["service"] == "mentoring" and s["family_ref"] in mentored and s["date"] <= EEA_SERVICES_END]
            for project, fam, day in acts:
                if project in (EEA, BAU_FS):
                    got = self.forced[(project, c, y, m)]
                    got[fam] = min(day, got.get(fam, day))

    # ---- the VAL camp ---------------------------------------------------------------------

    def val_camp(self) -> None:
        day, n, children = D(2014, 6, 18), self.pub["eea.VAL.camp_2014-06-18.event_families"], \
            self.pub["eea.VAL.camp_2014-06-18.event_children"]
        md = self.md.get(("VAL", 2014, 6))
        ev = md and next((e for e in md.tables["events"] if e["start_date"] == day and e["event_type"] == "camp"), None)
        if not ev:
            return
        minors: dict[str, int] = defaultdict(int)
        for c in md.tables["children"]:
            if day.year - c["birth_year"] <= 17:
                minors[c["family_ref"]] += 1
        pool = [(f["family_ref"], min(minors[f["family_ref"]], 15)) for f in md.tables["families"]
                if f["target_group"] == "risk_family" and f["exited_on"] is None and f["enrolled_on"] <= day
                and minors[f["family_ref"]]]
        self.rng.shuffle(pool)
        pick = _subset(pool, n, children)
        if pick is None:
            return
        rows = [r for r in md.tables["event_participants"] if r["event_id"] != ev["event_id"]]
        rows += [dict(event_id=ev["event_id"], family_ref=f, adults=1, children=k) for f, k in sorted(pick)]
        md.tables["event_participants"] = rows

    # ---- EEA-2013-150: who is taken on, when ------------------------------------------------

    def choose_eea(self) -> dict[tuple[str, str], dt.date]:
        pub, r = self.pub, self.rng
        ptd = [0] + [pub[f"eea.families_served.PTD-{p}"] for p in ("P2", "P3", "P4", "P5", "P6")] + \
            [pub["eea.families_served.PTD"]]
        targets = [ptd[i + 1] - ptd[i] for i in range(len(EEA_GROUPS))]
        want_kids = pub["eea.children_served.PTD"]
        need = {c: max(pub[f"eea.families_by_service.psychologist.{c}"], pub[f"eea.families_by_service.legal.{c}"])
                for c in self.knobs}
        deadline: dict[tuple, dt.date] = {}
        for (project, c, y, m), fams in self.forced.items():
            if project == EEA:
                for f, day in fams.items():
                    deadline[(c, f)] = min(day, deadline.get((c, f), day))
        options: dict[tuple, list] = {}       # family -> [(group, start month, lo, hi, children)]
        for key, f in sorted(self.fams.items()):
            yms = sorted(ym for ym in f.months if (2013, 11) <= ym <= (2015, 6))
            opts = []
            for i, ym in enumerate(yms):
                lo, hi, _ = f.months[ym]
                lo, hi = max(lo, D(2013, 11, 15)), min(hi, EEA_SERVICES_END, deadline.get(key, D.max))
                kids = len(frozenset().union(*(f.months[x][2] for x in yms[i:])))
                for g, (glo, ghi, _, _) in enumerate(EEA_GROUPS):
                    if max(lo, glo) <= min(hi, ghi):
                        opts.append((g, ym, max(lo, glo), min(hi, ghi), kids))
            if opts:
                options[key] = opts
        keys = sorted(options)
        for attempt in range(8):            # a few tries from fresh starts, if need be
            choice = {k: 0 for k in keys}          # option index, or None: not taken on
            count = [0] * len(EEA_GROUPS)
            per_centre: dict[str, int] = defaultdict(int)
            kids = 0
            for k in keys:
                o = options[k][0]
                count[o[0]] += 1
                per_centre[k[0]] += 1
                kids += o[4]

            def cost(count, kids, per_centre):
                return sum(abs(a - b) for a, b in zip(count, targets)) * 3 + abs(kids - want_kids) + \
                    sum(max(0, need[c] - per_centre[c]) * 3 for c in need)

            now = cost(count, kids, per_centre)
            free = [k for k in keys if k not in deadline]
            for it in range(200000):
                if now == 0:
                    break
                k = keys[r.randrange(len(keys))]
                if r.random() < 0.5:          # swap: one family out, another in, same reporting period
                    k, other = free[r.randrange(len(free))], free[r.randrange(len(free))]
                    if choice[k] is None or choice[other] is not None:
                        continue
                    g = options[k][choice[k]][0]
                    same = [i for i, o in enumerate(options[other]) if o[0] == g]
                    if not same:
                        continue
                    changes = [(k, None), (other, same[r.randrange(len(same))])]
                else:
                    new = None if r.random() < 0.3 and k not in deadline else r.randrange(len(options[k]))
                    if new == choice[k]:
                        continue
                    changes = [(k, new)]
                c2, k2, pc2 = count[:], kids, defaultdict(int, per_centre)
                for key, new in changes:
                    for idx, sign in ((choice[key], -1), (new, 1)):
                        if idx is not None:
                            o = options[key][idx]
                            c2[o[0]] += sign
                            k2 += sign * o[4]
                            pc2[key[0]] += sign
                after = cost(c2, k2, pc2)
                if _accept(r, now, after, it, 200000):
                    for key, new in changes:
                        choice[key] = new
                    count, kids, per_centre, now = c2, k2, pc2, after
            while now and kids != want_kids:      # polish: one family for another, same period, fewer/more children
                d = want_kids - kids
                best = None
                for k in free:
                    if choice[k] is None:
                        continue
                    g, _, _, _, have = options[k][choice[k]]
                    for other in free:
                        if not (choice[other] is None or other == k) or \
                                (other[0] != k[0] and per_centre[k[0]] <= need[k[0]]):
                            continue
                        alts = [(i, o) for i, o in enumerate(options[other]) if o[0] == g]
                        for i, o in alts:
                            gain = o[4] - have
                            if gain and abs(d - gain) < abs(d) and (best is None or abs(d - gain) < abs(d - best[0])):
                                best = (gain, k, other, i)
                if best is None:
                    break
                gain, k, other, i = best
                choice[k], choice[other] = None, i
                per_centre[k[0]] -= 1
                per_centre[other[0]] += 1
                kids += gain
                now = cost(count, kids, per_centre)
            if now == 0:
                break
        out = {}
        for k in keys:
            if choice[k] is not None:
                _, _, lo, hi, _ = options[k][choice[k]]
                out[k] = rand_day(r, lo, hi)
        return out

    # ---- BAU-FS: whom the municipality serves each month ------------------------------------

    def choose_bau_fs(self) -> dict[tuple[int, int], set[str]]:
        out: dict[tuple[int, int], set[str]] = {}
        if "BAU" not in self.knobs:
            return out
        for y in BAU_FS_CALIBRATED:
            out.update(self.choose_bau_fs_year(y))
        return out

    def choose_bau_fs_year(self, y: int) -> dict[tuple[int, int], set[str]]:
        """Two steps: the year's families (distinct families and children, when published), then
        each month's among them (monthly sums of families and children, when published)."""
        pub, r = self.pub, self.rng
        months_ = [(y, m) for m in range(1, 13) if ("BAU", y, m) in self.md]
        fams = {ref: f for (c, ref), f in self.fams.items() if c == "BAU" and any(ym in f.months for ym in months_)}
        refs = sorted(fams)
        listed = {ref: [ym for ym in months_ if ym in fams[ref].months] for ref in refs}
        forced = {ym: set(self.forced.get((BAU_FS, "BAU") + ym, {})) for ym in months_}
        natural: dict[str, set] = {ref: set() for ref in refs}
        for ym in months_:
            md = self.md[("BAU",) + ym]
            for ref in {s["family_ref"] for s in md.tables["services"] if s["project"] == BAU_FS} | forced[ym]:
                natural[ref].add(ym)
        n_target = round(pub.get(f"baufs.{y}.families_served_monthly_avg", -1) * 12)
        k_target = round(pub.get(f"baufs.{y}.children_served_monthly_avg", -1) * 12)
        year_fams, year_kids = pub.get(f"baufs.{y}.families_served"), pub.get(f"baufs.{y}.children_served")

        def kids(ref, ym):
            return fams[ref].months[ym][2]

        # Months that between them list every child of the family in the year.
        anchors: dict[str, set] = {}
        for ref in refs:
            todo, got = set().union(*(kids(ref, ym) for ym in listed[ref])), set()
            for ym in sorted(listed[ref], key=lambda ym: (-len(kids(ref, ym)), ym)):
                if todo & kids(ref, ym) or not got:
                    got.add(ym)
                    todo -= kids(ref, ym)
            anchors[ref] = got | {ym for ym in listed[ref] if ref in forced[ym]}
        year_union = {ref: len(frozenset().union(*(kids(ref, ym) for ym in listed[ref]))) for ref in refs}
        must = {ref for ref in refs if any(forced[ym] & {ref} for ym in months_)}
        if y == 2017:     # families enrolled in the year, and families exiting in it, are served
            must |= {ref for ref, f in fams.items() if f.enrolled_on.year == y or (f.exited_on and f.exited_on.year == y)}
            for ref in must:      # an exiting family is served before it exits
                f = fams[ref]
                if f.exited_on and f.exited_on.year == y and not any(ym <= (y, f.exited_on.month) for ym in anchors[ref]):
                    anchors[ref].add(min(listed[ref]))
        # Step 1: the year's families.
        if year_fams is None and year_kids is None:
            chosen = set(refs)
        else:
            cap = {ref: (len(listed[ref]), sum(len(kids(ref, ym)) for ym in listed[ref])) for ref in refs}
            chosen = {ref for ref in refs if natural[ref]} | must
            free = [ref for ref in refs if ref not in must]

            def cost1(ch):
                c = abs(sum(year_union[x] for x in ch) - (year_kids or 0)) if year_kids is not None else 0
                if year_fams is not None:
                    c += abs(len(ch) - year_fams)
                if n_target >= 0:      # room for the monthly sums
                    c += max(0, n_target + 30 - sum(cap[x][0] for x in ch))
                    sizes = sorted(len(kids(x, ym)) for x in ch for ym in listed[x])
                    c += max(0, sum(sizes[:n_target]) + 60 - k_target) + \
                        max(0, k_target + 20 - sum(sizes[-n_target:]))
                return c

            now = cost1(chosen)
            for it in range(5000):
                if now == 0 or not free:
                    break
                a = free[r.randrange(len(free))]
                new = chosen ^ {a}
                if r.random() < 0.5:
                    b = free[r.randrange(len(free))]
                    new = new ^ {b} if b != a else new
                after = cost1(new)
                if _accept(r, now, after, it, 5000):
                    chosen, now = new, after
        # Step 2: each month's families among them.
        served = {ref: (set(listed[ref]) if n_target < 0 else (natural[ref] | anchors[ref])) if ref in chosen
                  else set() for ref in refs}
        for ref in chosen:
            served[ref] |= anchors[ref]
        if n_target >= 0:
            pairs = [(ref, ym) for ref in sorted(chosen) for ym in listed[ref] if ym not in anchors[ref]]
            n = sum(len(v) for v in served.values())
            k = sum(len(kids(ref, ym)) for ref in refs for ym in served[ref])
            while n != n_target:          # the number of family-months, at the right average size
                step = 1 if n < n_target else -1
                pool = [(x, ym) for x, ym in pairs if (ym in served[x]) == (step < 0)]
                if not pool:
                    break
                left = n_target - n
                aim = (k_target - k) / left
                self.rng.shuffle(pool)
                x, ym = min(pool, key=lambda p: abs(len(kids(*p)) - aim))
                served[x] ^= {ym}
                n, k = n + step, k + step * len(kids(x, ym))
            while k != k_target:          # then one in, one out, until the children add up
                d = k_target - k
                ins = [p for p in pairs if p[1] not in served[p[0]]]
                outs = [p for p in pairs if p[1] in served[p[0]]]
                self.rng.shuffle(ins)
                self.rng.shuffle(outs)
                best = None
                for a_ in ins:
                    for b_ in outs:
                        gain = len(kids(*a_)) - len(kids(*b_))
                        if gain and abs(d - gain) < abs(d) and (best is None or abs(d - gain) < abs(d - best[0])):
                            best = (gain, a_, b_)
                    if best and best[0] == d:
                        break
                if best is None:
                    break
                gain, (xa, ya), (xb, yb) = best
                served[xa].add(ya)
                served[xb].discard(yb)
                k += gain
        out: dict[tuple[int, int], set[str]] = {ym: set() for ym in months_}
        for ref, yms in served.items():
            for ym in yms:
                out[ym].add(ref)
        return out

    def repick_events(self, fs: dict[tuple[int, int], set[str]]) -> None:
        """The families at the municipality's events (BAU-FS) are among those it serves that month."""
        for ym, served in sorted(fs.items()):
            md = self.md[("BAU",) + ym]
            t = md.tables
            events = {e["event_id"]: e for e in t["events"] if e["project"] == BAU_FS}
            if not events:
                continue
            fams = {f["family_ref"]: f for f in t["families"]}
            minors: dict[str, int] = defaultdict(int)
            for c in t["children"]:
                if ym[0] - c["birth_year"] <= 17:
                    minors[c["family_ref"]] += 1
            rows = [p for p in t["event_participants"] if p["event_id"] not in events]
            for eid, e in sorted(events.items()):
                n = sum(1 for p in t["event_participants"] if p["event_id"] == eid)
                pool = sorted(ref for ref in served if fams[ref]["enrolled_on"] <= e["start_date"]
                              and (fams[ref]["exited_on"] or D.max) >= e["start_date"])
                self.rng.shuffle(pool)
                for ref in sorted(pool[:n]):
                    k = min(minors[ref], 15)
                    adults = self.rng.randint(1, min(2, fams[ref]["adults"]))
                    rows.append(dict(event_id=eid, family_ref=ref, adults=adults,
                                     children=self.rng.randint(min(1, k), k)))
            t["event_participants"] = rows

    def repick_eea_events(self, eea: dict[tuple[str, str], dt.date]) -> None:
        """The families at the EEA project's events (but the VAL camp) are among those it has taken on."""
        for (c, y, m), md in sorted(self.md.items()):
            t = md.tables
            events = {e["event_id"]: e for e in t.get("events", []) if e["project"] == EEA
                      and (c, e["start_date"]) != ("VAL", D(2014, 6, 18))}
            if not events:
                continue
            fams = {f["family_ref"]: f for f in t["families"]}
            minors: dict[str, int] = defaultdict(int)
            for ch in t["children"]:
                if y - ch["birth_year"] <= 17:
                    minors[ch["family_ref"]] += 1
            rows = [p for p in t["event_participants"] if p["event_id"] not in events]
            for eid, e in sorted(events.items()):
                n = sum(1 for p in t["event_participants"] if p["event_id"] == eid)
                day, camp = e["start_date"], e["event_type"] == "camp"
                pool = sorted(ref for ref, f in fams.items() if eea.get((c, ref), D.max) <= day
                              and f["enrolled_on"] <= day and (f["exited_on"] or D.max) >= day
                              and (not camp or (f["target_group"] == "risk_family" and minors[ref]
                                                and not f["exited_on"])))
                self.rng.shuffle(pool)
                for ref in sorted(pool[:n]):
                    k = min(minors[ref], 15)
                    if camp:
                        adults, children = 1, k
                    else:
                        adults, children = self.rng.randint(1, min(2, fams[ref]["adults"])), \
                            self.rng.randint(min(1, k), k)
                    rows.append(dict(event_id=eid, family_ref=ref, adults=adults, children=children))
            t["event_participants"] = rows

    # ---- which EEA families use the psychologist, the lawyer, an FGC ---------------------------

    def choose_users(self, eea: dict[tuple[str, str], dt.date]) -> dict[str, set[tuple[str, str]]]:
        natural: dict[tuple, int] = defaultdict(int)      # (service, centre, family) -> contacts
        for (c, y, m), md in self.md.items():
            if (2013, 11) <= (y, m) <= (2015, 6):
                for s in md.tables["services"]:
                    start = eea.get((c, s["family_ref"]))
                    if start and s["date"] >= start:
                        natural[(s["service"], c, s["family_ref"])] += 1
        out: dict[str, set] = defaultdict(set)
        for key, n in self.pub.items():
            if not key.startswith("eea.families_by_service."):
                continue
            parts = key.split(".")
            service, centre = parts[2], (parts[3] if len(parts) > 3 else None)
            pool = sorted(k for k in eea if centre in (None, k[0]))
            self.rng.shuffle(pool)
            pool.sort(key=lambda k: -min(natural[(service, *k)], 3))
            out[service] |= set(pool[:n])
        return out

    # ---- the services, attributed accordingly -------------------------------------------------

    def add_contact(self, c: str, fam_row: dict, service: str, day: dt.date, project: str | None) -> dict:
        r, k = self.rng, self.knobs[c]
        mode = weighted(r, MODES[service][fam_row["territory_type"]])
        pool = k.outreach_staff.get(service) if mode == "outreach" else None
        minutes = None
        if service in MINUTES:
            lo, hi = MINUTES[service]
            minutes = r.randrange(lo, hi + 1, 5)
        return dict(contact_id=None, date=day, family_ref=fam_row["family_ref"], child_ref=None, service=service,
                    minutes=minutes, mode=mode, staff_ref=r.choice(pool or k.staff[service]), project=project)

    def rewrite(self, eea: dict, fs: dict, users: dict) -> None:
        touched: list[MonthDelivery] = []
        eea_months: dict[tuple, list] = defaultdict(list)      # family -> [(md, lo, hi)] EEA-served
        for (c, y, m), md in sorted(self.md.items()):
            ym = (y, m)
            in_eea = (2013, 11) <= ym <= (2015, 6)
            calibrated = c == "BAU" and y in BAU_FS_CALIBRATED
            if not (in_eea or calibrated):
                continue
            touched.append(md)
            fs_set = fs.get(ym, set()) if calibrated else set()
            by_fam: dict[str, list] = defaultdict(list)
            for s in md.tables["services"]:
                by_fam[s["family_ref"]].append(s)
            added = []
            for row in md.tables["families"]:
                ref = row["family_ref"]
                lo, hi, _ = self.fams[(c, ref)].months[ym]
                start = eea.get((c, ref)) if in_eea else None
                e_on = start is not None and start <= hi
                f_on = ref in fs_set
                if e_on:
                    eea_months[(c, ref)].append((md, max(lo, start), min(hi, EEA_SERVICES_END)))
                for s in by_fam[ref]:
                    eea_ok = e_on and start <= s["date"] <= EEA_SERVICES_END and s["service"] != "material_aid" \
                        and (s["service"] not in users or (c, ref) in users[s["service"]])
                    if eea_ok and not (f_on and s["service"] == "social_work"):
                        s["project"] = EEA
                    elif f_on and s["service"] != "material_aid":
                        s["project"] = BAU_FS
                    else:
                        s["project"] = None
                mine = by_fam[ref]
                if f_on and not any(s["project"] == BAU_FS for s in mine):
                    added.append(self.add_contact(c, row, "social_work", rand_day(self.rng, lo, hi), BAU_FS))
                if e_on:
                    service = "family_assistant" if f_on else "social_work"
                    if lo <= start and not any(s["project"] == EEA and s["date"] == start for s in mine):
                        added.append(self.add_contact(c, row, service, start, EEA))
                    elif not any(s["project"] == EEA for s in mine):
                        day = rand_day(self.rng, max(lo, start), min(hi, EEA_SERVICES_END))
                        added.append(self.add_contact(c, row, service, day, EEA))
            md.tables["services"].extend(added)
        # The psychologist's, the lawyer's and the FGC's families had at least one such contact.
        for service, fams in sorted(users.items()):
            for key in sorted(fams):
                served = eea_months.get(key, [])
                has = any(s["service"] == service and s["project"] == EEA and s["family_ref"] == key[1]
                          for md, _, _ in served for s in md.tables["services"])
                if has or not served:
                    continue
                md, lo, hi = served[self.rng.randrange(len(served))]
                row = next(r for r in md.tables["families"] if r["family_ref"] == key[1])
                md.tables["services"].append(self.add_contact(key[0], row, service, rand_day(self.rng, lo, hi), EEA))
        for md in touched:
            contacts = sorted(md.tables["services"],
                              key=lambda c: (c["date"], c["family_ref"], SERVICES.index(c["service"]),
                                             c["contact_id"] or "~"))
            for i, c in enumerate(contacts, 1):
                c["contact_id"] = f"{md.centre}-S-{md.year:04d}-{md.month:02d}-{i:04d}"
            md.tables["services"] = [{col: c.get(col) for col in TABLES["services"].column_names}
                                     for c in contacts]

    def run(self) -> list[MonthDelivery]:
        self.val_camp()
        self.index()
        eea = self.choose_eea()
        self.repick_eea_events(eea)
        fs = self.choose_bau_fs()
        self.repick_events(fs)
        users = self.choose_users(eea)
        self.rewrite(eea, fs, users)
        return self.deliveries


def _accept(r: random.Random, now: float, after: float, it: int, iterations: int) -> bool:
    """Local search step: take what is no worse; now and then, early on, what is a little worse."""
    if after <= now:
        return True
    heat = 1.5 * (1 - it / iterations)
    return heat > 0.05 and r.random() < math.exp(-(after - now) / heat)


def _subset(pool: list[tuple[str, int]], n: int, total: int) -> list[tuple[str, int]] | None:
    """n items of pool whose values sum to total (first found, in pool order), or None."""
    def go(i, left, rest):
        if left == 0:
            return [] if rest == 0 else None
        for j in range(i, len(pool) - left + 1):
            if pool[j][1] <= rest:
                tail = go(j + 1, left - 1, rest - pool[j][1])
                if tail is not None:
                    return [pool[j]] + tail
        return None
    return go(0, n, total)


# =====================================================================================
# 3. DELIVERY PLAN: forms, mtimes, the correction, the rejected samples
# =====================================================================================

@dataclass(frozen=True)
class Written:
    name: str
    path: str                    # relative to the inbox
    form: str
    options: Mapping[str, object]
    mtime: float
    role: str                    # monthly | original | correction | rejected
    rules: tuple[str, ...] = ()
    why: str = ""
    rows: Mapping[str, int] = field(default_factory=dict)


def form_of(k: FormKnobs, index: int, label: str, year: int, xlsx_seen: int) -> tuple[str, dict]:
    form = k.overrides.get(label)
    if form is None:
        form = XLSX if index % k.xlsx_every == k.xlsx_offset else k.default
    if form == XLSX:
        return XLSX, {"text_dates": (xlsx_seen + 1) % k.text_dates_every == 0}
    if form == CSV_UTF8:
        opts: dict = {}
        if label in k.bom_months:
            opts["bom"] = True
        if year in k.delimiter_years:
            opts["delimiter"] = k.delimiter_years[year]
        return CSV_UTF8, opts
    return form, {}


def delivered_at(y: int, m: int, day: int, hour: int = 10) -> dt.datetime:
    """When a month's delivery reached the inbox: `day` of the next month (UTC)."""
    y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return dt.datetime(y, m, day, hour, 0, tzinfo=dt.timezone.utc)


def set_mtime(path: Path, when: dt.datetime) -> float:
    ts = when.timestamp()
    for f in writers.delivery_files(path):
        os.utime(f, (ts, ts))
    os.utime(path, (ts, ts))
    return ts


def corrected(tables: dict[str, list[dict]]) -> tuple[dict[str, list[dict]], list[str]]:
    """A second version of a month: one extra service contact, one minutes value changed."""
    t = copy.deepcopy(tables)
    svc = t["services"]
    last_no = max(int(r["contact_id"].rsplit("-", 1)[1]) for r in svc)
    extra = dict(svc[0])
    extra["contact_id"] = svc[0]["contact_id"].rsplit("-", 1)[0] + f"-{last_no + 1:04d}"
    if extra["minutes"] is not None:
        extra["minutes"] = 45
    svc.append(extra)
    changed = next(r for r in svc[1:] if r["minutes"] is not None)
    old = changed["minutes"]
    changed["minutes"] = old + 30 if old <= 570 else old - 30
    return t, [f"added contact {extra['contact_id']}",
               f"minutes of {changed['contact_id']} changed from {old} to {changed['minutes']}"]


# This centre-month is first delivered with mistakes the validation suites reject.
FIRST_TRY_REJECTED = ("VAL", 2015, 2)


def first_try(tables: dict[str, list[dict]]) -> tuple[dict[str, list[dict]], tuple[str, ...], str]:
    """A first export with two typing mistakes: a service written in Latvian, 0 minutes."""
    t = copy.deepcopy(tables)
    svc = t["services"]
    svc[0]["service"] = "psihologs"
    timed = next(r for r in svc[1:] if r["minutes"] is not None)
    timed["minutes"] = 0
    return t, ("services.service.in_set", "services.minutes.range"), \
        "first attempt: service 'psihologs' instead of 'psychologist', and a contact of 0 minutes"


def rejected_samples() -> list[tuple[str, str, dict, dict[str, list[dict]], dt.datetime, tuple[str, ...], str]]:
    """Deliveries that must be rejected; their names do not clash with any good one."""
    def base(centre, y, m):
        return clean_tables(centre, y, m, ref_base=951, first_no=91)

    before = base("VAL", 2013, 10)
    before["services"][0]["minutes"] = 900
    stray = dict(before["services"][1])
    stray.update(contact_id="VAL-S-2013-10-0097", family_ref="V-0999", child_ref=None)
    before["services"].append(stray)
    utc = dt.timezone.utc
    return [
        ("BAU-2016-05", CSV_UTF8, {}, base("BAU", 2016, 5), dt.datetime(2016, 6, 4, 11, tzinfo=utc),
         ("intake.malformed_name",), "malformed name: '-' instead of '_' between centre and month"),
        ("RIG_2016-05", XLSX, {}, base("RIG", 2016, 5), dt.datetime(2016, 6, 4, 12, tzinfo=utc),
         ("intake.unknown_centre",), "unknown centre RIG"),
        ("VAL_2031-01", CSV_CP1257, {}, base("VAL", 2031, 1), dt.datetime(2019, 1, 10, 10, tzinfo=utc),
         ("intake.future_month",), "a month that has not ended"),
        ("VAL_2013-10", CSV_CP1257, {}, before, dt.datetime(2013, 11, 4, 11, tzinfo=utc),
         ("intake.before_active", "services.minutes.range", "services.family_ref.listed"),
         "before VAL's active_from 2013-11-01; also a contact of 900 minutes and one for a family "
         "that is not listed"),
    ]


def row_counts(tables: Mapping[str, list]) -> dict[str, int]:
    return {t: len(rows) for t, rows in tables.items()}


# =====================================================================================
# 4. GENERATE
# =====================================================================================

def generate(inbox: Path, seed: int = 2013, knobs: Mapping[str, CentreKnobs] | None = None) -> dict:
    """Write the sample deliveries into `inbox`; return a summary of what was written.

    Summary keys: `deliveries` (one dict per written delivery, in mtime order:
    name, path, form, options, mtime, role, rules, why, rows), `forms` (path -> form),
    `rejected` (name -> {path, rules, why}), `correction` (name, original, corrected,
    changes), `counts` (deliveries, files, rows per table).
    """
    inbox = Path(inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    knobs = knobs or KNOBS
    written: list[Written] = []
    correction_info: dict = {}
    by_centre: dict[str, int] = {}
    xlsx_seen: dict[str, int] = {}
    for md in simulate(seed, knobs):
        k = knobs[md.centre].forms
        index = by_centre[md.centre] = by_centre.get(md.centre, -1) + 1
        form, opts = form_of(k, index, md.label, md.year, xlsx_seen.get(md.centre, 0))
        if form == XLSX:
            xlsx_seen[md.centre] = xlsx_seen.get(md.centre, 0) + 1
        when = delivered_at(md.year, md.month, k.delivery_day, k.delivery_hour)
        is_corrected = (md.centre, md.year, md.month) == CORRECTION
        if (md.centre, md.year, md.month) == FIRST_TRY_REJECTED:
            # The centre's first attempt at this month fails validation; the good export
            # follows a few days later under the same name (the demo's quarantine story).
            bad, rules, why = first_try(md.tables)
            bform = XLSX if form != XLSX else CSV_UTF8
            bopts = {"stamp": when.replace(tzinfo=None)} if bform == XLSX else {}
            bpath = writers.write_delivery(inbox, md.name, bad, bform, **bopts)
            written.append(Written(md.name, bpath.name, bform, {}, set_mtime(bpath, when), "rejected",
                                   rules, why, row_counts(bad)))
            when = when + dt.timedelta(days=5)
        path = writers.write_delivery(inbox, md.name, md.tables, form, **opts)
        written.append(Written(md.name, path.name, form, opts, set_mtime(path, when),
                               "original" if is_corrected else "monthly", rows=row_counts(md.tables)))
        if is_corrected:
            tables, changes = corrected(md.tables)
            later = when + dt.timedelta(days=14)
            cform = XLSX if form != XLSX else CSV_UTF8
            copts = {"stamp": later.replace(tzinfo=None)} if cform == XLSX else {}
            cpath = writers.write_delivery(inbox, md.name, tables, cform, **copts)
            written.append(Written(md.name, cpath.name, cform, {"text_dates": False} if cform == XLSX else {},
                                   set_mtime(cpath, later), "correction",
                                   why="; ".join(changes), rows=row_counts(tables)))
            correction_info = dict(name=md.name, original=path.name, corrected=cpath.name, changes=changes)
    for name, form, opts, tables, when, rules, why in rejected_samples():
        path = writers.write_delivery(inbox, name, tables, form, **opts)
        written.append(Written(name, path.name, form, opts, set_mtime(path, when), "rejected", rules, why,
                               row_counts(tables)))
    written.sort(key=lambda w: (w.mtime, w.path))
    rows: dict[str, int] = {t: 0 for t in TABLES}
    for w in written:
        if w.role != "rejected":
            for t, n in w.rows.items():
                rows[t] += n
    files = sum(len(list(writers.delivery_files(inbox / w.path))) for w in written)
    return dict(
        inbox=str(inbox), seed=seed,
        deliveries=[dict(name=w.name, path=w.path, form=w.form, options=dict(w.options), mtime=w.mtime,
                         role=w.role, rules=list(w.rules), why=w.why, rows=dict(w.rows)) for w in written],
        forms={w.path: w.form for w in written},
        rejected={w.name: dict(path=w.path, rules=list(w.rules), why=w.why)
                  for w in written if w.role == "rejected"},
        correction=correction_info,
        counts=dict(deliveries=len(written), files=files, rows=rows),
    )
