"""Which extracts a funder expects: one per project and period, from the reference data alone.

Per project: each reporting period P1..Pn (spans of `reporting_months` from the start date,
the last ending on the project's end), the whole project to date (PTD), and for yearly
projects each calendar year the window overlaps. The bounds are those of
sql/reporting/periods.sql (tests/test_extracts.py checks they agree), so a new project in
projects.yaml brings its extracts, and its Dagster partitions, without a code change.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

from sos_pipeline import reference


@dataclass(frozen=True)
class ExtractPeriod:
    project: str
    label: str          # P3, PTD, 2017
    kind: str           # reporting_period, project_to_date, year
    start: dt.date
    end: dt.date
    progress: str | None  # the PTD-Pn whose target progress the extract shows (None: no Pn ended yet)

    @property
    def key(self) -> str:
        """The Dagster partition key, and the folder under reports/."""
        return f"{self.project}/{self.label}"


def reporting_periods(p: reference.Project) -> list[tuple[int, dt.date, dt.date]]:
    out, k = [], 1
    while True:
        start = p.start + relativedelta(months=p.reporting_months * (k - 1))
        if start > p.end:
            return out
        end = min(p.start + relativedelta(months=p.reporting_months * k) - dt.timedelta(days=1), p.end)
        out.append((k, start, end))
        k += 1


def _progress_at(rps, day: dt.date, project_end: dt.date) -> str | None:
    if day >= project_end:
        return "PTD"
    ended = [k for k, _, end in rps if end <= day]
    return f"PTD-P{ended[-1]}" if ended else None


def extract_periods(p: reference.Project) -> list[ExtractPeriod]:
    rps = reporting_periods(p)
    out = [ExtractPeriod(p.code, f"P{k}", "reporting_period", s, e,
                         "PTD" if e >= p.end else f"PTD-P{k}") for k, s, e in rps]
    out.append(ExtractPeriod(p.code, "PTD", "project_to_date", p.start, p.end, "PTD"))
    if p.reporting_months == 12:
        for year in range(p.start.year, p.end.year + 1):
            s, e = dt.date(year, 1, 1), dt.date(year, 12, 31)
            out.append(ExtractPeriod(p.code, str(year), "year", s, e, _progress_at(rps, e, p.end)))
    return out


def all_periods(ref: reference.Reference) -> dict[str, ExtractPeriod]:
    return {ep.key: ep for code in sorted(ref.projects) for ep in extract_periods(ref.projects[code])}


def find(ref: reference.Reference, project: str, label: str) -> ExtractPeriod:
    """The extract for PROJECT and PERIOD, or a message saying what exists."""
    if project not in ref.projects:
        raise KeyError(f"No project {project!r} in projects.yaml. Projects: {', '.join(sorted(ref.projects))}.")
    periods = {ep.label: ep for ep in extract_periods(ref.projects[project])}
    if label not in periods:
        raise KeyError(f"{project} has no period {label!r}. Its extracts: {', '.join(periods)}.")
    return periods[label]
