"""The indicator catalogue (catalogue.yaml): what each indicator means and which SQL file makes it.

Kept free of heavy imports: the reference loader and the code location read it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

CATALOGUE_FILE = Path(__file__).with_name("catalogue.yaml")
MANUAL = "manual"
ALL_PROJECT = "all"


@dataclass(frozen=True)
class Indicator:
    indicator: str
    sql: str                      # file stem in sql/indicators/
    unit: str
    breakdowns: tuple[str, ...]
    name_lv: str
    name_en: str
    definition: str
    scope: str = "any"            # "all": computed for the ALL project only (no project scopes)

    @property
    def manual(self) -> bool:
        return self.sql == MANUAL

    @property
    def all_project_only(self) -> bool:
        return self.scope == ALL_PROJECT


@lru_cache(maxsize=1)
def catalogue() -> tuple[Indicator, ...]:
    raw = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))["indicators"]
    out, seen = [], set()
    for i, e in enumerate(raw, 1):
        missing = {"indicator", "sql", "unit", "name_lv", "name_en", "definition"} - set(e)
        if missing:
            raise ValueError(f"{CATALOGUE_FILE}: entry #{i}: missing {sorted(missing)}")
        if e["indicator"] in seen:
            raise ValueError(f"{CATALOGUE_FILE}: {e['indicator']!r} is listed twice")
        seen.add(e["indicator"])
        scope = e.get("scope", "any")
        if scope not in ("any", ALL_PROJECT):
            raise ValueError(f"{CATALOGUE_FILE}: {e['indicator']!r}: scope must be 'any' or "
                             f"'{ALL_PROJECT}', got {scope!r}")
        out.append(Indicator(e["indicator"], e["sql"], e["unit"], tuple(e.get("breakdowns") or ()),
                             e["name_lv"], e["name_en"], " ".join(str(e["definition"]).split()), scope))
    return tuple(out)


def families() -> tuple[str, ...]:
    """The SQL files (sql/indicators/<name>.sql), in catalogue order."""
    return tuple(dict.fromkeys(i.sql for i in catalogue()))


def indicators_of(family: str) -> tuple[str, ...]:
    return tuple(i.indicator for i in catalogue() if i.sql == family)


def computed() -> tuple[str, ...]:
    return tuple(i.indicator for i in catalogue() if not i.manual)


def manual() -> tuple[str, ...]:
    return tuple(i.indicator for i in catalogue() if i.manual)


def all_project_only() -> tuple[str, ...]:
    """Indicators computed for the ALL project only (scope: all), e.g. the reporting rates."""
    return tuple(i.indicator for i in catalogue() if i.all_project_only)
