"""Reference data: centres and projects, loaded strictly (warehouse.md, "Reference data").

A malformed or inconsistent file stops the run with a message naming the file,
the entry and the problem. `$SOS_DATA_DIR/reference/<file>` overrides the shipped file.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sos_pipeline import config
from sos_pipeline.indicators import catalogue as _catalogue

# Indicators a target may name: the catalogue (sos_pipeline/indicators/catalogue.yaml), computed
# ones and those entered by hand.
COMPUTED_INDICATORS = _catalogue.computed()
MANUAL_INDICATORS = _catalogue.manual()
KNOWN_INDICATORS = COMPUTED_INDICATORS + MANUAL_INDICATORS
# Indicators computed for the ALL project only (reporting rates): no project target may name them.
ALL_ONLY_INDICATORS = _catalogue.all_project_only()
# A month's delivery is due by this day of the next month unless centres.yaml says otherwise.
DEFAULT_DUE_DAY = 10


class ReferenceError(ValueError):
    """A reference file is malformed or inconsistent."""


@dataclass(frozen=True)
class Centre:
    code: str
    name_lv: str
    name_en: str
    active_from: dt.date
    town: str | None = None
    due_day: int = DEFAULT_DUE_DAY  # a month's delivery is due by this day of the next month (1-28)


@dataclass(frozen=True)
class Target:
    indicator: str
    value: float
    valid_from: dt.date
    centre: str | None = None
    breakdown: str | None = None


@dataclass(frozen=True)
class ManualValue:
    indicator: str
    value: float
    date: dt.date
    centre: str | None = None
    breakdown: str | None = None


@dataclass(frozen=True)
class Project:
    code: str
    number: str | None
    name_lv: str
    name_en: str
    funder: str
    centres: tuple[str, ...]
    start: dt.date
    end: dt.date
    reporting_months: int
    suppression_threshold: int = 5
    services_end: dt.date | None = None
    budget: tuple[tuple[str, float], ...] = ()
    targets: tuple[Target, ...] = ()
    manual_values: tuple[ManualValue, ...] = ()

    def covers(self, centre: str, day: dt.date) -> bool:
        return centre in self.centres and self.start <= day <= self.end


@dataclass(frozen=True)
class Reference:
    centres: dict[str, Centre]
    projects: dict[str, Project]
    sources: tuple[Path, ...] = field(default=())


def _file(name: str, data_dir: Path | None) -> Path:
    override = (data_dir or config.data_dir()) / "reference" / name
    return override if override.is_file() else config.SHIPPED_REFERENCE / name


def _read(path: Path, top: str) -> list:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ReferenceError(f"{path}: cannot be read as YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get(top), list):
        raise ReferenceError(f"{path}: expected a top-level '{top}:' list")
    return doc[top]


class _Entry:
    """Reads one entry's fields, naming file and entry in every error."""

    def __init__(self, path: Path, where: str, raw):
        if not isinstance(raw, dict):
            raise ReferenceError(f"{path}: {where}: expected a mapping, got {type(raw).__name__}")
        self.path, self.where, self.raw = path, where, raw

    def fail(self, problem: str):
        raise ReferenceError(f"{self.path}: {self.where}: {problem}")

    def get(self, key, kind, required=True, default=None):
        if key not in self.raw or self.raw[key] is None:
            if required:
                self.fail(f"'{key}' is required")
            return default
        value = self.raw[key]
        if kind is dt.date:
            if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
                try:
                    value = dt.date.fromisoformat(str(value))
                except ValueError:
                    self.fail(f"'{key}' must be a date YYYY-MM-DD, got {value!r}")
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(f"'{key}' must be a number, got {value!r}")
            value = float(value)
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                self.fail(f"'{key}' must be a whole number, got {value!r}")
        elif kind is str:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                self.fail(f"'{key}' must be text, got {value!r}")
            value = str(value)
        elif kind is list:
            if not isinstance(value, list):
                self.fail(f"'{key}' must be a list")
        return value

    def check_unknown(self, allowed):
        extra = sorted(set(self.raw) - set(allowed))
        if extra:
            self.fail(f"unknown field(s) {', '.join(extra)}")


def load(data_dir: Path | None = None) -> Reference:
    """Load and cross-check centres.yaml and projects.yaml."""
    cpath, ppath = _file("centres.yaml", data_dir), _file("projects.yaml", data_dir)
    centres: dict[str, Centre] = {}
    for i, raw in enumerate(_read(cpath, "centres"), 1):
        e = _Entry(cpath, f"centre #{i}", raw)
        e.check_unknown({"code", "name_lv", "name_en", "active_from", "town", "due_day"})
        code = e.get("code", str)
        e.where = f"centre {code!r}"
        if not code.isalnum() or not code.isupper() or len(code) > 8:
            e.fail("code must be 1-8 upper-case letters or digits")
        if code in centres:
            e.fail("code is listed twice")
        due_day = e.get("due_day", int, False, DEFAULT_DUE_DAY)
        if not 1 <= due_day <= 28:   # every month has a 28th: the due day exists in every month
            e.fail(f"due_day must be a day of the month 1-28, got {due_day}")
        centres[code] = Centre(code, e.get("name_lv", str), e.get("name_en", str),
                               e.get("active_from", dt.date), e.get("town", str, False), due_day)
    if not centres:
        raise ReferenceError(f"{cpath}: no centres listed")

    projects: dict[str, Project] = {}
    for i, raw in enumerate(_read(ppath, "projects"), 1):
        e = _Entry(ppath, f"project #{i}", raw)
        e.check_unknown({"code", "number", "name_lv", "name_en", "funder", "centres", "start",
                         "end", "services_end", "reporting_months", "suppression_threshold",
                         "budget", "targets", "manual_values"})
        code = e.get("code", str)
        e.where = f"project {code!r}"
        if code in projects:
            e.fail("code is listed twice")
        if code.upper() == "ALL" or "|" in code or "/" in code:
            e.fail("code may not be ALL or contain '|' or '/'")
        pc = tuple(e.get("centres", list))
        if not pc:
            e.fail("'centres' must list at least one centre")
        for c in pc:
            if c not in centres:
                e.fail(f"centre {c!r} is not in {cpath.name}")
        start, end = e.get("start", dt.date), e.get("end", dt.date)
        if end < start:
            e.fail(f"end {end} is before start {start}")
        services_end = e.get("services_end", dt.date, False)
        if services_end and not start <= services_end <= end:
            e.fail("services_end must lie within start..end")
        months = e.get("reporting_months", int)
        if not 1 <= months <= 24:
            e.fail("reporting_months must be 1-24")
        threshold = e.get("suppression_threshold", int, False, 5)
        if threshold < 1:
            e.fail("suppression_threshold must be at least 1")

        budget = []
        for j, b in enumerate(e.get("budget", list, False, []), 1):
            be = _Entry(ppath, f"project {code!r}, budget line #{j}", b)
            be.check_unknown({"source", "amount"})
            budget.append((be.get("source", str), be.get("amount", float)))

        def scoped(kind, j, item, date_key):
            te = _Entry(ppath, f"project {code!r}, {kind} #{j}", item)
            te.check_unknown({"indicator", "value", date_key, "centre", "breakdown"})
            ind = te.get("indicator", str)
            if ind not in KNOWN_INDICATORS:
                te.fail(f"unknown indicator {ind!r} (known: {', '.join(KNOWN_INDICATORS)})")
            if ind in ALL_ONLY_INDICATORS:
                te.fail(f"{ind!r} is computed for all projects together (project ALL) only, so a "
                        "project's target or value cannot name it")
            centre = te.get("centre", str, False)
            if centre is not None and centre not in pc:
                te.fail(f"centre {centre!r} is not one of the project's centres {list(pc)}")
            bd = te.get("breakdown", str, False)
            if bd is not None and bd.count("=") != 1:
                te.fail(f"breakdown must be one key=value pair, got {bd!r}")
            day = te.get(date_key, dt.date)
            if not start <= day <= end:
                te.fail(f"'{date_key}' {day} is outside the project window {start}..{end}")
            return ind, te.get("value", float), day, centre, bd

        targets = tuple(Target(ind, v, d, c, bd) for ind, v, d, c, bd in (
            scoped("target", j, t, "from") for j, t in enumerate(e.get("targets", list, False, []), 1)))
        manual = tuple(ManualValue(ind, v, d, c, bd) for ind, v, d, c, bd in (
            scoped("manual value", j, m, "date")
            for j, m in enumerate(e.get("manual_values", list, False, []), 1)))
        for m in manual:
            if m.indicator not in MANUAL_INDICATORS:
                raise ReferenceError(f"{ppath}: project {code!r}: manual value for {m.indicator!r}: "
                                     "only hand-entered indicators may have manual values")
        projects[code] = Project(code, e.get("number", str, False), e.get("name_lv", str),
                                 e.get("name_en", str), e.get("funder", str), pc, start, end,
                                 months, threshold, services_end, tuple(budget), targets, manual)
    return Reference(centres, projects, (cpath, ppath))
