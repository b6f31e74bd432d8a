"""Reference data: centres and projects, loaded strictly (warehouse.md, "Reference data").

A malformed or inconsistent file stops the run with a message naming the file,
the entry and the problem. `$SOS_DATA_DIR/reference/<file>` overrides the shipped file.
Pydantic models check each entry's fields and their types; the rules (code format, dates in
the project window, known centres and indicators) are plain code after them. Either way the
error is one ReferenceError in the coordinator's words, never pydantic's own report.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, Strict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

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


class _Loader(yaml.SafeLoader):
    """yaml.safe_load's loader, but an impossible date (2016-13-01) stays text.

    SafeLoader raises a bare ValueError for it, naming neither file nor entry; as text it
    reaches the date check, which names both.
    """

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _read(path: Path, top: str) -> list:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ReferenceError(f"{path}: cannot be read as YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get(top), list):
        raise ReferenceError(f"{path}: expected a top-level '{top}:' list")
    return doc[top]


# ---------------------------------------------------------------- the entries' fields and types
# A field's type as the coordinator reads it. YAML gives an unquoted 2013-11-15 as a date and
# 2013 as a number: text fields take numbers as written (a project number 2013 is "2013"),
# dates may also be quoted, and true/false is never a number.

def _wrong(what: str) -> PydanticCustomError:
    return PydanticCustomError("wrong_type", "must be {what}", {"what": what})


def _is_text(value) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _text(value) -> str:
    if not _is_text(value):
        raise _wrong("text")
    return str(value)


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _wrong("a number")
    return float(value)


def _whole(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong("a whole number")
    return value


def _date(value) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:                      # a quoted date; a date with a time of day is not a date
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _wrong("a date YYYY-MM-DD") from None


Text = Annotated[str, PlainValidator(_text)]
Number = Annotated[float, PlainValidator(_number)]
Whole = Annotated[int, PlainValidator(_whole)]
Date = Annotated[dt.date, PlainValidator(_date)]
_T = TypeVar("_T")
Items = Annotated[list[_T], Strict()]     # a list, not a set or a mapping


class _Fields(BaseModel):
    """One entry of a reference file: only the fields it declares; a field left empty is not given."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, data):
        # `town:` or `number: null` counts as not given: required if required, else the default
        if not isinstance(data, dict):
            return data
        known = {f.alias or name for name, f in cls.model_fields.items()}
        return {k: v for k, v in data.items() if v is not None or k not in known}


class _CentreFields(_Fields):
    code: Text
    name_lv: Text
    name_en: Text
    active_from: Date
    town: Text | None = None
    due_day: Whole = DEFAULT_DUE_DAY


class _BudgetLineFields(_Fields):
    source: Text
    amount: Number


class _ScopedFields(_Fields):
    """A target or a manual value: an indicator's value, for the project or one centre and breakdown."""

    indicator: Text
    value: Number
    centre: Text | None = None
    breakdown: Text | None = None


class _TargetFields(_ScopedFields):
    valid_from: Date = Field(alias="from")


class _ManualValueFields(_ScopedFields):
    date: Date


class _ProjectFields(_Fields):
    code: Text
    number: Text | None = None
    name_lv: Text
    name_en: Text
    funder: Text
    centres: Items[Text]
    start: Date
    end: Date
    services_end: Date | None = None
    reporting_months: Whole
    suppression_threshold: Whole = 5
    budget: Items[_BudgetLineFields] = []
    targets: Items[_TargetFields] = []
    manual_values: Items[_ManualValueFields] = []


# What an item of a project's list is called in a message: "project 'X', budget line #1".
_ITEMS = {"budget": "budget line", "targets": "target", "manual_values": "manual value"}
_PROBLEMS = {"missing": "is required", "list_type": "must be a list"}   # any other: pydantic's one-line msg
_F = TypeVar("_F", bound=_Fields)


def _fail(path: Path, where: str, problem: str) -> NoReturn:
    raise ReferenceError(f"{path}: {where}: {problem}")


def _parse(model: type[_F], raw, path: Path, kind: str, i: int) -> _F:
    """Entry #i of `kind` checked against `model`; its first problem as one ReferenceError."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        code = raw.get("code") if isinstance(raw, dict) else None
        where = f"{kind} {str(code)!r}" if _is_text(code) else f"{kind} #{i}"
        _fail(path, *_explain(where, exc.errors(include_url=False)))


def _explain(where: str, errors: list) -> tuple[str, str]:
    """The entry and the problem of pydantic's first error, in plain words.

    Unknown fields come first: a misspelt field name is usually why a required one is missing.
    """
    unknown = [e for e in errors if e["type"] in ("extra_forbidden", "invalid_key")]   # invalid_key: `1: x`
    first = (unknown or errors)[0]
    loc = first["loc"][:-1] if unknown else first["loc"]
    while len(loc) >= 2 and loc[0] in _ITEMS and isinstance(loc[1], int):   # into a list's item
        where += f", {_ITEMS[loc[0]]} #{loc[1] + 1}"
        loc = loc[2:]
    if unknown:
        names = sorted(str(e["loc"][-1]) for e in unknown if e["loc"][:-1] == first["loc"][:-1])
        return where, f"unknown field(s) {', '.join(names)}"
    if not loc:
        return where, f"expected a mapping, got {type(first['input']).__name__}"
    name = f"'{loc[0]}'" + "".join(f" item #{p + 1}" for p in loc[1:])   # 'centres' item #2
    if first["type"] == "wrong_type":
        return where, f"{name} {first['msg']}, got {first['input']!r}"
    return where, f"{name} {_PROBLEMS.get(first['type'], first['msg'])}"


# ---------------------------------------------------------------- the rules between fields and entries

# What load() made of the files with these very bytes: a refresh asks for the reference data in
# several steps (five in a refresh), and parsing the YAML of a federation (80 centres) takes about
# 0.03 s each time.
_LOADED: dict[tuple, Reference] = {}


def load(data_dir: Path | None = None) -> Reference:
    """Load and cross-check centres.yaml and projects.yaml (the files as they are now: a file that
    changed is read again; what came from the same bytes before is given again, unchanged)."""
    cpath, ppath = _file("centres.yaml", data_dir), _file("projects.yaml", data_dir)
    try:
        key = tuple((str(f), hashlib.sha256(f.read_bytes()).digest()) for f in (cpath, ppath))
    except OSError:
        return _load(cpath, ppath)          # says what is wrong with the file
    if key not in _LOADED:
        ref = _load(cpath, ppath)
        if len(_LOADED) >= 8:
            _LOADED.clear()
        _LOADED[key] = ref
    return _LOADED[key]


def _load(cpath: Path, ppath: Path) -> Reference:
    centres: dict[str, Centre] = {}
    for i, raw in enumerate(_read(cpath, "centres"), 1):
        c = _parse(_CentreFields, raw, cpath, "centre", i)
        where = f"centre {c.code!r}"
        if not c.code.isalnum() or not c.code.isupper() or len(c.code) > 8:
            _fail(cpath, where, "code must be 1-8 upper-case letters or digits")
        if c.code in centres:
            _fail(cpath, where, "code is listed twice")
        if not 1 <= c.due_day <= 28:   # every month has a 28th: the due day exists in every month
            _fail(cpath, where, f"due_day must be a day of the month 1-28, got {c.due_day}")
        centres[c.code] = Centre(c.code, c.name_lv, c.name_en, c.active_from, c.town, c.due_day)
    if not centres:
        raise ReferenceError(f"{cpath}: no centres listed")

    projects: dict[str, Project] = {}
    for i, raw in enumerate(_read(ppath, "projects"), 1):
        p = _parse(_ProjectFields, raw, ppath, "project", i)
        code, pc, start, end = p.code, tuple(p.centres), p.start, p.end
        where = f"project {code!r}"
        if code in projects:
            _fail(ppath, where, "code is listed twice")
        if code.upper() == "ALL" or "|" in code or "/" in code:
            _fail(ppath, where, "code may not be ALL or contain '|' or '/'")
        if not pc:
            _fail(ppath, where, "'centres' must list at least one centre")
        for c in pc:
            if c not in centres:
                _fail(ppath, where, f"centre {c!r} is not in {cpath.name}")
        if end < start:
            _fail(ppath, where, f"end {end} is before start {start}")
        if p.services_end and not start <= p.services_end <= end:
            _fail(ppath, where, "services_end must lie within start..end")
        if not 1 <= p.reporting_months <= 24:
            _fail(ppath, where, "reporting_months must be 1-24")
        if p.suppression_threshold < 1:
            _fail(ppath, where, "suppression_threshold must be at least 1")

        def scoped(kind, j, s: _ScopedFields, date_key, day):
            te = f"{where}, {kind} #{j}"
            if s.indicator not in KNOWN_INDICATORS:
                _fail(ppath, te, f"unknown indicator {s.indicator!r} (known: {', '.join(KNOWN_INDICATORS)})")
            if s.indicator in ALL_ONLY_INDICATORS:
                _fail(ppath, te, f"{s.indicator!r} is computed for all projects together (project ALL) only, so a "
                      "project's target or value cannot name it")
            if s.centre is not None and s.centre not in pc:
                _fail(ppath, te, f"centre {s.centre!r} is not one of the project's centres {list(pc)}")
            if s.breakdown is not None and s.breakdown.count("=") != 1:
                _fail(ppath, te, f"breakdown must be one key=value pair, got {s.breakdown!r}")
            if not start <= day <= end:
                _fail(ppath, te, f"'{date_key}' {day} is outside the project window {start}..{end}")

        for j, t in enumerate(p.targets, 1):
            scoped("target", j, t, "from", t.valid_from)
        for j, m in enumerate(p.manual_values, 1):
            scoped("manual value", j, m, "date", m.date)
        for m in p.manual_values:
            if m.indicator not in MANUAL_INDICATORS:
                _fail(ppath, where, f"manual value for {m.indicator!r}: only hand-entered indicators may have manual values")
        projects[code] = Project(
            code, p.number, p.name_lv, p.name_en, p.funder, pc, start, end, p.reporting_months,
            p.suppression_threshold, p.services_end, tuple((b.source, b.amount) for b in p.budget),
            tuple(Target(t.indicator, t.value, t.valid_from, t.centre, t.breakdown) for t in p.targets),
            tuple(ManualValue(m.indicator, m.value, m.date, m.centre, m.breakdown) for m in p.manual_values))
    return Reference(centres, projects, (cpath, ppath))
