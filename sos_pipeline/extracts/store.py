"""Where extracts live, their versions, and the promise about final ones.

    reports/<PROJECT>/<PERIOD>/            version 1: report.xlsx, report.html, one CSV per sheet,
                                           the charts (PNG), manifest.json
    reports/<PROJECT>/<PERIOD>/v2/ ...     a restatement of a final version (with CHANGES.md)

A version that is not final is rewritten in place when anything in it changes (each file
replaced atomically, manifest.json last; nothing is written when nothing changed). A final
version (FINAL.json beside its files, files made read-only) is never written again: when a
later rebuild would change any of its numbers, the next version is written beside it with
the differences listed and the deliveries that explain them.
"""
from __future__ import annotations

import csv
import datetime as dt
import getpass
import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sos_pipeline import config, permissions
from sos_pipeline.extracts import charts as charts_mod
from sos_pipeline.extracts import labels, render
from sos_pipeline.extracts.content import Column, Extract, Sheet
from sos_pipeline.extracts.labels import Label
from sos_pipeline.faults import pause_point

SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Which columns identify a row of each sheet when two versions are compared.
ROW_KEYS = {"summary": ("section", "item_en"), "by_centre": ("indicator", "breakdown"), "monthly": ("month",),
            "targets": ("period", "indicator", "breakdown", "centre"), "budget": ("source",)}


@dataclass
class Outcome:
    key: str
    status: str        # written, unchanged, restated, final-unchanged, withdrawn, no-data
    version: int | None
    folder: Path | None
    final: bool = False
    changes: list[dict] = field(default_factory=list)
    message: str = ""
    seconds: float = 0.0


@lru_cache(maxsize=1)
def code_version() -> dict:
    """The package version, the git commit when run from a checkout, and a digest of the code and
    SQL that make extracts (what decides whether an unchanged extract must be rewritten)."""
    from sos_pipeline.warehouse.state import code_digest

    root = config.REPO_ROOT
    out = {"package": _package_version(), "source_sha256": code_digest()}
    try:
        out["git"] = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], check=True,
                                    capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("sos-pipeline")
    except PackageNotFoundError:
        return "unknown"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def reference_digest(ref) -> str:
    return sha256(b"".join(Path(p).read_bytes() for p in sorted(map(str, ref.sources))))


def folder(reports: Path, project: str, label: str) -> Path:
    for part in (project, label):
        if not SAFE.match(part):
            raise ValueError(f"{part!r} cannot name a folder under reports/ (letters, digits, . _ - only)")
    return reports / project / label


def version_dir(base: Path, n: int) -> Path:
    return base if n == 1 else base / f"v{n}"


def versions(base: Path) -> list[int]:
    found = [1] if (base / "manifest.json").exists() else []
    if base.is_dir():
        found += sorted(int(d.name[1:]) for d in base.iterdir()
                        if d.is_dir() and re.fullmatch(r"v\d+", d.name) and (d / "manifest.json").exists())
    return found


def is_final(d: Path) -> bool:
    return (d / "FINAL.json").exists()


def manifest(d: Path) -> dict:
    return json.loads((d / "manifest.json").read_text(encoding="utf-8"))


def intact(d: Path) -> bool:
    """Every file the manifest lists is there with its checksum (a run killed mid-write is not)."""
    try:
        m = manifest(d)
        return all(sha256((d / f).read_bytes()) == s for f, s in m["files"].items())
    except (OSError, ValueError, KeyError):
        return False


def read_numbers(d: Path) -> dict[str, list[list[str]]]:
    """A version's numbers, read back from its CSV files."""
    out = {}
    for slug in ROW_KEYS:
        f = d / f"{slug}.csv"
        if f.exists():
            out[slug] = list(csv.reader(io.StringIO(f.read_bytes().decode("utf-8-sig"))))
    return out


def csv_numbers(ex: Extract, csvs: dict[str, bytes] | None = None) -> dict[str, list[list[str]]]:
    """An extract's numbers as its CSV files will hold them (`csvs`: those files, by sheet, when
    already written)."""
    csvs = csvs or {s.slug: render.to_csv(s) for s in ex.sheets if s.slug in ROW_KEYS}
    return {s.slug: list(csv.reader(io.StringIO(csvs[s.slug].decode("utf-8-sig"))))
            for s in ex.sheets if s.slug in ROW_KEYS}


def diff(old: dict, new: dict) -> list[dict]:
    """Cell by cell: what a restatement changes, sheet by sheet."""
    out = []
    for slug, keys in ROW_KEYS.items():
        a, b = old.get(slug, [[]]), new.get(slug, [[]])
        ha, hb = (a[0] if a else []), (b[0] if b else [])

        def index(rows, head):
            pos = [head.index(k) for k in keys if k in head]
            return {" / ".join(r[i] for i in pos): dict(zip(head, r)) for r in rows[1:]}
        ia, ib = index(a, ha), index(b, hb)
        for row in list(ia) + [k for k in ib if k not in ia]:
            ra, rb = ia.get(row, {}), ib.get(row, {})
            for col in list(hb) + [c for c in ha if c not in hb]:
                va, vb = ra.get(col, ""), rb.get(col, "")
                if va != vb and col not in keys:
                    out.append({"sheet": slug, "row": row, "column": col, "final": va, "new": vb})
    return out


def reasons(old: dict, new: dict) -> list[str]:
    """Why numbers changed: deliveries added, replaced or withdrawn, reference data, code."""
    out = []
    a = {(d["centre"], d["month"]): d for d in old.get("deliveries", [])}
    b = {(d["centre"], d["month"]): d for d in new.get("deliveries", [])}
    for k in sorted(set(a) | set(b)):
        if k not in a:
            out.append(f"new delivery {b[k]['delivery']} ({k[0]} {k[1]}, sha256 {b[k]['sha256'][:12]})")
        elif k not in b:
            out.append(f"delivery {a[k]['delivery']} ({k[0]} {k[1]}) no longer accepted")
        elif a[k]["sha256"] != b[k]["sha256"]:
            out.append(f"corrected delivery {b[k]['delivery']} ({k[0]} {k[1]}): sha256 "
                       f"{a[k]['sha256'][:12]} -> {b[k]['sha256'][:12]}")
    if old.get("reference_sha256") != new.get("reference_sha256"):
        out.append("reference data changed (projects.yaml / centres.yaml: targets, budget, centres)")
    if old.get("code_version", {}).get("source_sha256") != new.get("code_version", {}).get("source_sha256"):
        out.append(f"pipeline code changed ({old.get('code_version', {}).get('git', '?')} -> "
                   f"{new.get('code_version', {}).get('git', '?')})")
    return out or ["no delivery, reference or code change recorded: see the cells listed"]


def _part(code: str) -> Label:
    """One part of a row key, for people: an indicator, a breakdown, all centres, or as written."""
    if "=" in code:
        return labels.breakdown(code)
    if code == "ALL":
        return labels.section("ALL")
    if code and code.islower() and code.replace("_", "").isalpha():
        return labels.indicator(code)
    if len(code) == 10 and code[4] == "-" and code[7] == "-":      # a month (the monthly sheet's key)
        y, m = int(code[:4]), int(code[5:7])
        return Label(f"{render.LV_MONTHS[m - 1]} {y}", f"{render.EN_MONTHS[m - 1]} {y}")
    return Label(code, code)


def labelled(changes: list[dict], sheets: list[Sheet]) -> list[dict]:
    """The changed cells as a reader sees them: the sheet's, row's and column's labels and the
    numbers rounded as the workbook shows them (the codes and exact values stay beside them)."""
    by_slug = {s.slug: s for s in sheets}
    out = []
    for c in changes:
        sheet = by_slug.get(c["sheet"])
        col = next((k for k in (sheet.columns if sheet else []) if k.key == c["column"]), None)
        parts = [_part(p) for p in c["row"].split(" / ") if p]
        if c["sheet"] == "summary" and len(parts) == 2:
            section, item = c["row"].split(" / ")
            lv = next((r[2] for r in (sheet.rows if sheet else []) if r[0] == section and r[3] == item), item)
            parts = [labels.section(section), Label(lv, item)]
        elif c["sheet"] == "budget":
            parts = [labels.budget_source(c["row"])]
        out.append({**c, "sheet_label": Label(sheet.lv, sheet.en) if sheet else labels.section(c["sheet"]),
                    "row_label": Label(" · ".join(p.lv for p in parts), " · ".join(p.en for p in parts)),
                    "column_label": Label(col.lv, col.en) if col else _part(c["column"]),
                    "final_shown": _rounded(c["final"], col.kind if col else "text"),
                    "new_shown": _rounded(c["new"], col.kind if col else "text")})
    return out


def _rounded(text: str, kind: str) -> str:
    try:
        v = float(text)
    except ValueError:
        return text
    if kind == "percent":
        return f"{100 * v:.0f}%"
    return f"{v:,.0f}" if v.is_integer() else f"{v:,.2f}" if kind == "eur" else f"{v:,.1f}"


def _changes_sheet(changes: list[dict]) -> Sheet:
    return Sheet("changes", "Izmaiņas", "Changes", [
        Column("sheet", "Lapas kods", "Sheet code", show=False), Column("sheet_label", "Lapa", "Sheet"),
        Column("row", "Rindas kods", "Row code", show=False), Column("row_label", "Rinda", "Row"),
        Column("column", "Kolonnas kods", "Column code", show=False), Column("column_label", "Kolonna", "Column"),
        Column("final", "Galīgajā versijā (precīzi)", "In the final version (exact)", show=False),
        Column("new", "Tagad (precīzi)", "Now (exact)", show=False),
        Column("final_shown", "Galīgajā versijā", "In the final version"), Column("new_shown", "Tagad", "Now")],
        rows=[[c["sheet"], c["sheet_label"], c["row"], c["row_label"], c["column"], c["column_label"],
               c["final"], c["new"], c["final_shown"], c["new_shown"]] for c in changes], numbers=False,
        note_lv="Skaitļi, kas atšķiras no galīgās (nosūtītās) versijas.",
        note_en="Numbers that differ from the final (sent) version.")


def _write_files(target: Path, files: dict[str, bytes]) -> None:
    """Each file written beside its place and renamed over it; manifest.json goes last."""
    target.mkdir(parents=True, exist_ok=True)
    old = set(manifest(target)["files"]) if (target / "manifest.json").exists() else set()
    for name in sorted(files, key=lambda n: n == "manifest.json"):
        tmp = target / f".{name}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(files[name])
            fh.flush()
            os.fsync(fh.fileno())
        permissions.for_readers(tmp)        # the share group's mode before it is in place
        os.replace(tmp, target / name)
        if name == "report.xlsx":
            pause_point("extracts")
    for name in old - set(files):
        (target / name).unlink(missing_ok=True)
    for stale in ("CHANGES.md", "changes.csv"):
        if stale not in files:
            (target / stale).unlink(missing_ok=True)


def mark_final(d: Path, version: int) -> None:
    m = manifest(d)
    files = [*m["files"], "manifest.json"]
    (d / "FINAL.json").write_text(json.dumps({
        "version": version, "finalised_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "finalised_by": _user(), "manifest_sha256": sha256((d / "manifest.json").read_bytes()),
        "note": "This version was sent to the funder. Its files are never written again."}, indent=2) + "\n",
        encoding="utf-8")
    for f in [*files, "FINAL.json"]:
        p = d / f
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def inputs_digest(con, ref, project) -> str:
    """sha256 of what a project's extracts are made of: the code, the reference data and the
    rows they read from the published warehouse (sql/extracts/inputs.sql)."""
    from sos_pipeline.warehouse.db import sql

    rows = con.execute(sql("extracts/inputs"), {"project": project.code,
                                                 "centres": list(project.centres)}).fetchall()
    return sha256(json.dumps([code_version(), reference_digest(ref), rows], default=str).encode())


def unchanged_since(reports: Path, ep, inputs: str, seen: dict) -> Outcome | None:
    """The latest version, when it was built (or last found unchanged) from these very inputs and
    is intact: nothing to do. `seen`: key -> {"version", "inputs"} (note_inputs)."""
    base = folder(reports, ep.project, ep.label)
    vs = versions(base)
    mark = seen.get(ep.key) or {}
    if mark.get("inputs") != inputs or mark.get("version") != (vs[-1] if vs else None):
        return None
    if not vs:
        return Outcome(ep.key, "no-data", None, None, message=f"{ep.label} has no delivered month yet")
    d = version_dir(base, vs[-1])
    if not intact(d):
        return None
    if is_final(d):
        return Outcome(ep.key, "final-unchanged", vs[-1], d, final=True,
                       message=f"v{vs[-1]} is final and nothing it rests on changed")
    return Outcome(ep.key, "unchanged", vs[-1], d, message="nothing it rests on changed since the last build")


def load_seen(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def save_seen(path: Path, seen: dict) -> None:
    """The inputs each extract's latest version was made from (.work/extract_inputs.json)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(seen, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def save(ex: Extract, reports: Path, ref, final: bool = False) -> Outcome:
    """Write the extract where it belongs (see the module's docstring). Returns what happened."""
    ep = ex.period
    base = folder(reports, ep.project, ep.label)
    vs = versions(base)
    finals = [v for v in vs if is_final(version_dir(base, v))]
    latest = vs[-1] if vs else None
    last_final = finals[-1] if finals else None
    csvs = {s.slug: render.to_csv(s) for s in ex.sheets}   # each sheet's CSV file, written once
    new_numbers = csv_numbers(ex, csvs)
    if last_final is not None and read_numbers(version_dir(base, last_final)) == new_numbers:
        # The numbers are those already sent: nothing to write; a newer draft is obsolete.
        withdrawn = [v for v in vs if v > last_final]
        for v in withdrawn:
            shutil.rmtree(version_dir(base, v))
        return Outcome(ep.key, "withdrawn" if withdrawn else "final-unchanged", last_final,
                       version_dir(base, last_final), final=True,
                       message=f"v{last_final} is final and its numbers still hold"
                               + (f"; removed the draft restatement v{withdrawn[-1]}" if withdrawn else ""))
    n = 1 if latest is None else (latest + 1 if latest == last_final else latest)
    target = version_dir(base, n)
    head = {
        "project": ep.project, "period": ep.label, "period_kind": ep.kind,
        "period_start": ep.start.isoformat(), "period_end": ep.end.isoformat(),
        "version": n, "suppression_threshold": ex.threshold,
        "code_version": code_version(), "reference_sha256": reference_digest(ref),
        "deliveries": [{"delivery": d["delivery"], "centre": d["centre"], "month": d["month"].strftime("%Y-%m"),
                        "sha256": d["sha256"]} for d in ex.deliveries],
    }
    changes, why = [], []
    if last_final is not None:
        old_dir = version_dir(base, last_final)
        changes = diff(read_numbers(old_dir), new_numbers)
        why = reasons(manifest(old_dir), head)
        head["restates"] = {"version": last_final, "changed_cells": len(changes), "because": why}
    # What the files say, but when they were generated: every sheet as its CSV file has it.
    fingerprint = sha256(json.dumps({"sheets": {slug: sha256(data) for slug, data in csvs.items()},
                                     "head": head, "changes": changes}, sort_keys=True, default=str).encode())
    if latest == n and manifest(target).get("fingerprint") == fingerprint and intact(target) and not final:
        return Outcome(ep.key, "unchanged", n, target, message="nothing changed since the last build")
    if latest == n and manifest(target).get("fingerprint") == fingerprint and intact(target) and final:
        mark_final(target, n)
        return Outcome(ep.key, "finalised", n, target, final=True, changes=changes)

    generated = dt.datetime.now().astimezone().replace(microsecond=0)
    p = ex.project
    header = [(f"{p.code} · {ep.label} · {p.name_lv}", f"{p.code} · {ep.label} · {p.name_en}"),
              (f"Finansētājs: {p.funder}", f"Funder: {p.funder}"),
              (f"Periods {ep.label}: {ep.start:%d.%m.%Y.} – {ep.end:%d.%m.%Y.}",
               f"Period {ep.label}: {ep.start:%d %b %Y} – {ep.end:%d %b %Y}"),
              (f"Sagatavots {generated:%d.%m.%Y. %H:%M}; versija {n}", f"Generated {generated:%d %b %Y %H:%M}; version {n}")]
    banner = None
    sheets = list(ex.sheets)
    if last_final is not None:
        banner = (f"Šī versija {n} labo galīgo versiju {last_final}: mainījušies {len(changes)} skaitļi "
                  f"(sk. lapu Izmaiņas un CHANGES.md).",
                  f"This version {n} restates the final version {last_final}: {len(changes)} numbers changed "
                  f"(see the Changes sheet and CHANGES.md).")
        header.append(banner)
        sheets.append(_changes_sheet(labelled(changes, sheets)))
    if not ex.has_data:
        header.append(("Šim periodam vēl nav datu.", "There are no data for this period yet."))
    elif ex.data_up_to is not None:
        header.insert(3, (f"Periods vēl turpinās: dati līdz {ex.data_up_to:%d.%m.%Y.}; vidējie rādītāji "
                          "mēnesī dalīti ar visiem perioda mēnešiem.",
                          f"Period in progress: data up to {ex.data_up_to:%d %b %Y}; monthly averages are "
                          "divided by all the period's months."))
    ex_out = Extract(**{**ex.__dict__, "sheets": sheets})
    pngs = charts_mod.render(ex_out, cache=reports.parent / ".work" / "charts")
    files: dict[str, bytes] = {f"{s.slug}.csv": csvs.get(s.slug) or render.to_csv(s) for s in sheets}
    files.update(pngs)
    files["report.xlsx"] = render.to_xlsx(ex_out, pngs, header)
    files["report.html"] = render.to_html(ex_out, pngs, header, banner, n).encode("utf-8")
    if last_final is not None:
        files["CHANGES.md"] = _changes_md(ep, n, last_final, labelled(changes, sheets), why).encode("utf-8")
    m = {**head, "generated_at": generated.isoformat(), "fingerprint": fingerprint,
         "files": {f: sha256(b) for f, b in sorted(files.items())}}
    files["manifest.json"] = (json.dumps(m, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    _write_files(target, files)
    if final:
        mark_final(target, n)
    status = "restated" if last_final is not None else "written"
    return Outcome(ep.key, status, n, target, final=final, changes=changes)


def _changes_md(ep, n: int, last_final: int, changes: list[dict], why: list[str]) -> str:
    lines = [f"# {ep.project} {ep.label}: version {n} restates final version {last_final}", "",
             f"Version {last_final} was marked final (sent to the funder). A later refresh changed "
             f"{len(changes)} of its numbers, so this version was written beside it; version "
             f"{last_final} is unchanged.", "", "## Why", ""]
    lines += [f"- {w}" for w in why]
    lines += ["", "## What changed", "",
              "| lapa / sheet | rinda / row | kolonna / column | galīgajā / final | tagad / now |",
              "|---|---|---|---|---|"]
    lines += [f"| {c['sheet_label']} | {c['row_label']} | {c['column_label']} | {c['final_shown']} | {c['new_shown']} |"
              for c in changes]
    return "\n".join(lines) + "\n"
