"""Labels for people: the Latvian and English words an extract shows instead of codes
(sos_pipeline/indicators/labels.yaml, indicator names from catalogue.yaml).

A `Label` is one value with both languages: the workbook and CSV write it "lv / en", the page
shows the language its reader chose. Codes stay in the CSV files, in their own columns.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

LABELS_FILE = Path(__file__).resolve().parent.parent / "indicators" / "labels.yaml"


@dataclass(frozen=True)
class Label:
    lv: str
    en: str

    def __str__(self) -> str:
        return self.lv if self.lv == self.en else f"{self.lv} / {self.en}"


@lru_cache(maxsize=1)
def table() -> dict:
    return yaml.safe_load(LABELS_FILE.read_text(encoding="utf-8"))


def _humane(code: str) -> str:
    """The last resort for a code labels.yaml does not list (a test keeps the sample covered)."""
    return code.replace("_", " ").replace("=", ": ")


def _pair(v, code: str) -> Label:
    return Label(*v) if v else Label(_humane(code), _humane(code))


def breakdown(bd: str | None) -> Label | None:
    """`service=legal` -> "Pakalpojums: jurists / Service: legal"."""
    if not bd:
        return None
    key, _, value = bd.partition("=")
    entry = table()["breakdowns"].get(key) or {}
    k = _pair(entry.get("label"), key)
    v = _pair((entry.get("values") or {}).get(value), value)
    return Label(f"{k.lv}: {v.lv}", f"{k.en}: {v.en}")


def unit(code: str) -> Label:
    return _pair(table()["units"].get(code), code)


def section(code: str) -> Label:
    return _pair(table()["sections"].get(code), code)


def centre(code: str) -> Label | str:
    return section("ALL") if code == "ALL" else code


def budget_source(source: str) -> Label:
    lv = (table().get("budget_sources") or {}).get(source)
    return Label(lv or source, source)


def quality_kind(code: str) -> Label:
    return _pair(table()["quality_kinds"].get(code), code)


def data_table(code: str | None) -> Label | None:
    return _pair(table()["tables"].get(code), code) if code else None


def rule(rule_id: str) -> Label:
    """By the full id, then its last part (validation rules: TABLE.COLUMN.CHECK), then its stage."""
    rules = table()["rules"]
    parts = rule_id.split(".")
    for k in (rule_id, parts[-1], parts[0]):
        if k in rules:
            return Label(*rules[k])
    return Label(_humane(rule_id), _humane(rule_id))


def indicator(code: str) -> Label:
    from sos_pipeline.indicators.catalogue import catalogue
    for i in catalogue():
        if i.indicator == code:
            return Label(i.name_lv, i.name_en)
    return Label(_humane(code), _humane(code))


def codes() -> set[str]:
    """Every snake_case code labels stand for: none may appear on a sheet or page for people."""
    from sos_pipeline.indicators.catalogue import catalogue
    t = table()
    out = {i.indicator for i in catalogue()}
    for key, entry in t["breakdowns"].items():
        out.add(key)
        out |= set((entry.get("values") or {}))
    out |= set(t["units"]) | set(t["quality_kinds"]) | set(t["tables"]) | set(t["sections"])
    return {c for c in out if re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", c)}


def code_words(text: str) -> list[str]:
    """The codes (snake_case ids, key=value) found in a text meant for people."""
    found = re.findall(r"\w+=\w+", text)
    found += [w for w in re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", text) if w in codes()]
    return found
