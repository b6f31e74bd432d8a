"""Funder extracts as the coordinator and the funder get them (warehouse.md, "Funder extracts";
indicators.md, "Privacy in extracts").

Two set-ups:
- the sample data: the session's `sample_warehouse` refresh also builds every extract under
  reports/; the tests open the workbooks with openpyxl, read the CSV files, the page and the
  manifest, and compare with reporting.indicator_values of the published warehouse;
- a small project of our own (FUND, BAU, 2021-01-01 .. 2021-06-30, 3-month periods): real
  deliveries, a real refresh, `sos-pipeline report FUND P1 --final`, then a corrected delivery
  and another refresh: the final version's files stay byte-identical and a v2 lists what
  changed and why.
"""
from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import re
from pathlib import Path

import duckdb
import indicator_cases as ic
import openpyxl
import pytest

from sos_pipeline import cli, reference
from sos_pipeline.extracts import labels
from sos_pipeline.extracts.periods import all_periods
from sos_pipeline.sample import writers

PEOPLE_UNITS = {"families", "children", "participants", "adults", "pairs", "mentors", "people"}


def read_csv(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def figure(path: Path, item_en: str) -> str:
    """A key figure of an extract's summary.csv (section `figures`), by its English name."""
    return next(r["value"] for r in read_csv(path) if (r["section"], r["item_en"]) == ("figures", item_en))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ the sample data's extracts

@pytest.fixture(scope="module")
def sample(sample_warehouse):
    data = sample_warehouse.parent
    con = duckdb.connect(str(sample_warehouse), read_only=True)
    yield data, con, reference.load(data)
    con.close()


def test_every_expected_extract_is_built(sample):
    data, con, ref = sample
    periods = all_periods(ref)
    assert len(periods) > 30
    # every reporting period is in the warehouse; an extract exists once its period has begun
    # by the end of the last month of data (the ALL scope's last month)
    with_data = {(p, label) for p, label in con.execute(
        "SELECT project, period FROM reporting.periods WHERE project IS NOT NULL AND period_start <= "
        "(SELECT max(period_end) FROM reporting.periods WHERE project IS NULL AND period_type = 'month')"
    ).fetchall()}
    for key, ep in periods.items():
        folder = data / "reports" / ep.project / ep.label
        if (ep.project, ep.label) not in with_data:
            assert not (folder / "manifest.json").exists(), f"{key} has no data but an extract"
            continue
        names = {f.name for f in folder.iterdir()}
        assert {"report.xlsx", "report.html", "manifest.json", "summary.csv", "by_centre.csv", "monthly.csv",
                "targets.csv", "budget.csv", "data_quality.csv", "families_per_month.png"} <= names, key


def test_periods_agree_with_the_warehouse(sample):
    """Partition keys come from projects.yaml alone; their bounds must be the warehouse's."""
    _, con, ref = sample
    got = {(p, label): (s, e) for p, label, s, e in con.execute(
        "SELECT project, period, period_start, period_end FROM reporting.periods WHERE project IS NOT NULL "
        "AND period_type IN ('reporting_period', 'year') OR period = 'PTD'").fetchall()}
    for ep in all_periods(ref).values():
        if (ep.project, ep.label) in got:
            assert got[(ep.project, ep.label)] == (ep.start, ep.end), ep.key


def test_eea_whole_project_figures_against_targets(sample):
    data, _, _ = sample
    wb = openpyxl.load_workbook(data / "reports" / "EEA-2013-150" / "PTD" / "report.xlsx")
    assert wb.sheetnames == ["Kopsavilkums - Summary", "Pa centriem - By centre", "Pa mēnešiem - Monthly",
                             "Mērķi - Targets", "Budžets - Budget", "Datu kvalitāte - Data quality",
                             "Grafiki - Charts"]
    ws = wb["Kopsavilkums - Summary"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    head = next(i for i, r in enumerate(rows) if r[:3] == ["Sadaļa", "Rādītājs", "Rādītājs angliski"])
    assert rows[head + 1][:4] == ["Section", "Item (Latvian)", "Item", "Value"]
    table = {(r[0], r[2]): r[3:] for r in rows[head + 2:] if r[0]}
    targets, figures, project = "Mērķi / Targets", "Galvenie rādītāji / Key figures", "Projekts / Project"
    assert table[(targets, "Families served")] == [129, 116, pytest.approx(129 / 116)]
    assert table[(targets, "Children served")] == [271, 250, pytest.approx(271 / 250)]
    assert table[(figures, "Families served")][0] == 129
    assert table[(project, "Funder")][0].startswith("EEA Financial Mechanism")
    # number formats made for people: a percentage, thousands separators, frozen headers
    cell = next(c for r in ws.iter_rows() for c in r if r[2].value == "Families served" and r[0].value == targets
                and c.column == 6)
    assert cell.number_format == "0%"
    assert ws.freeze_panes is not None
    assert wb["Pa centriem - By centre"].freeze_panes == "A5"


def _sheet_rows(ws):
    """The by-centre sheet as people see it: indicator (Latvian, English), breakdown, unit, centres."""
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    head = next(i for i, r in enumerate(rows) if r[:3] == ["Rādītājs", "Rādītājs angliski", "Sadalījums"])
    return rows[head], rows[head + 2:]


def test_by_centre_sheet_matches_indicator_values(sample):
    data, con, ref = sample
    checked = 0
    for key in ("EEA-2013-150/P3", "EEA-2013-150/PTD", "BAU-FS/2017", "ABLV-CAMPS/2017"):
        project, label = key.split("/")
        t = ref.projects[project].suppression_threshold
        wb = openpyxl.load_workbook(data / "reports" / project / label / "report.xlsx")
        head, rows = _sheet_rows(wb["Pa centriem - By centre"])
        centres = head[4:]
        assert centres[-1] == "Visi centri" and centres[:-1] == list(ref.projects[project].centres)
        # the codes are in the CSV file, row for row (test_csv_files_are_the_sheets)
        codes = read_csv(data / "reports" / project / label / "by_centre.csv")
        assert len(codes) == len(rows)
        exact = {(i, b or None, c or "Visi centri"): v for i, b, c, v in con.execute(
            "SELECT indicator, breakdown, centre, value FROM reporting.indicator_values "
            "WHERE project = ? AND period = ?", [project, label]).fetchall()}
        for r, c in zip(rows, codes):
            ind, bd, unit = c["indicator"], c["breakdown"] or None, c["unit"]
            assert r[0] == c["name_lv"] and (r[2] or "") == c["breakdown_label"]
            for centre, shown in zip(centres, r[4:]):
                want = exact.get((ind, bd, centre), 0.0)
                if isinstance(shown, str):       # suppressed
                    assert shown in (f"<{t}", "x"), shown
                    if shown == f"<{t}":
                        assert 0 < want < t and unit in PEOPLE_UNITS, (key, r[:4], centre, want)
                    continue
                assert shown == pytest.approx(want), (key, r[:4], centre)
                if unit in PEOPLE_UNITS:
                    assert not 0 < shown < t, f"{key} {r[:4]} {centre}: {shown} shown"
                checked += 1
    assert checked > 300


def test_csv_files_are_the_sheets(sample):
    data, _, _ = sample
    folder = data / "reports" / "EEA-2013-150" / "P2"
    wb = openpyxl.load_workbook(folder / "report.xlsx")
    head, rows = _sheet_rows(wb["Pa centriem - By centre"])
    got = read_csv(folder / "by_centre.csv")
    assert list(got[0]) == ["indicator", "name_lv", "name_en", "breakdown", "breakdown_label", "unit", "unit_label",
                            "BAU", "VAL", "ALL"]
    assert len(got) == len(rows)
    for c, r in zip(got, rows):
        assert c["name_lv"] == r[0] and c["name_en"] == r[1] and c["unit_label"] == r[3]
        for col, v in zip(("BAU", "VAL", "ALL"), r[4:]):
            if isinstance(v, str):
                assert c[col] == v
            else:               # the CSV keeps 4 decimals (hours, averages); the workbook all
                assert float(c[col]) == pytest.approx(v, abs=5e-5)
    monthly = read_csv(folder / "monthly.csv")
    assert [m["month"] for m in monthly] == ["2014-02-01", "2014-03-01", "2014-04-01", "2014-05-01"]


def test_manifest_checksums_and_deliveries(sample):
    data, con, _ = sample
    folder = data / "reports" / "EEA-2013-150" / "P3"
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert m["project"] == "EEA-2013-150" and m["period"] == "P3" and m["version"] == 1
    assert m["period_start"] == "2014-05-15" and m["period_end"] == "2014-08-14"
    dt.datetime.fromisoformat(m["generated_at"])
    assert set(m["code_version"]) >= {"package", "source_sha256"}
    assert {f.name for f in folder.iterdir() if f.is_file()} == set(m["files"]) | {"manifest.json"}
    for name, digest in m["files"].items():
        assert sha(folder / name) == digest, name
    accepted = {(c, f"{mo:%Y-%m}"): s for c, mo, s in con.execute(
        "SELECT centre, month, sha256 FROM audit.deliveries WHERE status = 'accepted' "
        "AND centre IN ('BAU', 'VAL') AND month BETWEEN '2014-05-01' AND '2014-08-14'").fetchall()}
    assert {(d["centre"], d["month"]): d["sha256"] for d in m["deliveries"]} == accepted
    assert len(accepted) == 8


def test_html_page_carries_the_charts(sample):
    data, _, _ = sample
    folder = data / "reports" / "EEA-2013-150" / "PTD"
    page = (folder / "report.html").read_text(encoding="utf-8")
    images = re.findall(r'<img class=chart alt="([^"]+)" src="data:image/png;base64,([^"]+)"', page)
    assert [a for a, _ in images] == ["families_per_month.png", "children_per_month.png", "target_progress.png"]
    for name, b64 in images:
        png = base64.b64decode(b64)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png == (folder / name).read_bytes()
    assert 'lang="en">Families served' in page and 'lang="lv">Apkalpotās ģimenes' in page
    assert "129" in page and "15.11.2013." in page and "15 Nov 2013" in page
    wb = openpyxl.load_workbook(folder / "report.xlsx")
    assert len(wb["Grafiki - Charts"]._images) == 3


def _attack(rows, cols, t, exact):
    """Try to recover every '<t' cell of a by-centre table from its row total (the centres add up
    to 'all centres') and from its breakdown's column total (the categories of a breakdown may
    add up to the headline). Returns the cells whose true value (exact) was recovered."""
    def num(v):
        return None if isinstance(v, str) else float(v or 0)
    recovered = []
    equations = []
    for r in rows:                                  # centre parts + all centres
        equations.append(([(r, j) for j in range(len(cols) - 1)], (r, len(cols) - 1)))
    headline = {r[0]: r for r in rows if not r[3]}
    for (ind, key), group in itertools.groupby(
            [r for r in rows if r[3]], key=lambda r: (r[0], r[3].split("=")[0])):
        group = list(group)
        if ind in headline:
            for j in range(len(cols)):
                equations.append(([(g, j) for g in group], (headline[ind], j)))
    for parts, (trow, tj) in equations:
        vals = [num(r[5 + j]) for r, j in parts]
        total = num(trow[5 + tj])
        if sum(parts_sum is None for parts_sum in vals) == 1 and total is not None:
            k = vals.index(None)
            guess = total - sum(v for v in vals if v is not None)
            r, j = parts[k]
            centre = "ALL" if cols[j] == "Visi centri" else cols[j]
            if r[5 + j] == f"<{t}" and guess == exact.get((r[0], r[3] or None, centre), 0.0):
                recovered.append((r[0], r[3], cols[j], guess))
    return recovered


def test_suppressed_cells_cannot_be_recovered_from_totals(sample):
    """Every extract of the sample (its by_centre.csv: the same cells as the workbook's sheet,
    see test_csv_files_are_the_sheets)."""
    data, con, ref = sample
    hidden = 0
    for ep in all_periods(ref).values():
        path = data / "reports" / ep.project / ep.label / "by_centre.csv"
        if not path.exists():
            continue
        t = ref.projects[ep.project].suppression_threshold
        table = read_csv(path)
        cols = list(table[0])[7:]
        rows = [[r["indicator"], r["name_lv"], r["name_en"], r["breakdown"], r["unit"],
                 *[r[c] if r[c].startswith(("<", "x")) else float(r[c]) for c in cols]] for r in table]
        cols = [("Visi centri" if c == "ALL" else c) for c in cols]
        hidden += sum(v == f"<{t}" for r in rows for v in r[5:])
        exact = {(i, b, c or "ALL"): v for i, b, c, v in con.execute(
            "SELECT indicator, breakdown, centre, value FROM reporting.indicator_values "
            "WHERE project = ? AND period = ?", [ep.project, ep.label]).fetchall()}
        assert _attack(rows, cols, t, exact) == [], ep.key
    assert hidden > 50      # the sample has small cells: the check is not vacuous


# ------------------------------------------------------------------ final extracts and restatements

PROJECTS = """\
projects:
  - code: FUND
    number: "NR/2021/1"
    name_lv: Testa projekts
    name_en: Test project
    funder: Test foundation
    centres: [BAU]
    start: 2021-01-01
    end: 2021-06-30
    reporting_months: 3
    suppression_threshold: 3
    budget:
      - {source: Foundation, amount: 1000}
    targets:
      - {indicator: families_served, value: 8, from: 2021-01-01}
    manual_values: []
"""
FAMILIES = [f"B-00{n:02d}" for n in range(1, 13)]


def month(m: int, served: list[str]) -> ic.Month:
    mo = ic.Month("BAU", 2021, m)
    for i, ref in enumerate(served):
        mo.fam(ref, ic.D(2020, 12, 1), "urban" if i % 2 else "rural", kids=[(1, 2012, "F")])
        mo.svc(f"BAU-S-{m:02d}{i:02d}", 3 + i, ref, "social_work", 60, project="FUND")
    return mo


@pytest.fixture(scope="module")
def fund(tmp_path_factory):
    root = tmp_path_factory.mktemp("extracts")
    with ic.pipeline_env(root) as data:
        (data / "reference").mkdir()
        (data / "reference" / "centres.yaml").write_text(ic.CENTRES_YAML, encoding="utf-8")
        (data / "reference" / "projects.yaml").write_text(PROJECTS, encoding="utf-8")
        for m, served in ((1, FAMILIES[:6]), (2, FAMILIES[:7])):
            mo = month(m, served)
            writers.write_delivery(data / "inbox", mo.name, mo.tables, writers.CSV_UTF8)
        yield data


def test_final_extract_is_never_overwritten_and_a_restatement_lists_changes(fund, capsys):
    data = fund
    assert cli.refresh(quiet=True) == 0
    p1 = data / "reports" / "FUND" / "P1"
    assert figure(p1 / "summary.csv", "Families served") == "7"      # families served in P1
    # P1 (Q1) is in progress: data up to the end of February
    assert {r["item_en"]: r["value"] for r in read_csv(p1 / "summary.csv")}[
        "Data up to (period in progress)"] == "2021-02-28"
    assert not (data / "reports" / "FUND" / "P2").exists()            # April .. June: no data yet
    assert cli.report("FUND", "P1", final=True) == 0
    out = capsys.readouterr().out
    assert "FINAL" in out and "version 1" in out
    final = json.loads((p1 / "FINAL.json").read_text())
    assert final["version"] == 1
    before = {f.name: sha(f) for f in p1.iterdir() if f.is_file()}
    mtimes = {f.name: f.stat().st_mtime_ns for f in p1.iterdir() if f.is_file()}

    # Nothing new: rebuilding writes nothing at all, final or not.
    ptd = data / "reports" / "FUND" / "PTD"
    ptd_mtimes = {f.name: f.stat().st_mtime_ns for f in ptd.iterdir() if f.is_file()}
    assert cli.report("FUND", "PTD") == 0 and cli.report("FUND", "P1") == 0
    assert "unchanged" in capsys.readouterr().out
    assert {f.name: f.stat().st_mtime_ns for f in p1.iterdir() if f.is_file()} == mtimes
    assert {f.name: f.stat().st_mtime_ns for f in ptd.iterdir() if f.is_file()} == ptd_mtimes
    assert not (p1 / "v2").exists()

    # February corrected: two more families served. P1's numbers change: v2 beside the final v1.
    mo = month(2, FAMILIES[:9])
    writers.write_delivery(data / "inbox", mo.name, mo.tables, writers.XLSX)
    assert cli.refresh(quiet=True) == 0
    assert {f.name: sha(f) for f in p1.iterdir() if f.is_file()} == before
    v2 = p1 / "v2"
    m2 = json.loads((v2 / "manifest.json").read_text())
    assert m2["version"] == 2 and m2["restates"]["version"] == 1
    assert any("corrected delivery BAU_2021-02" in why for why in m2["restates"]["because"])
    summary = {r["item_en"]: r for r in read_csv(v2 / "summary.csv")}
    assert summary["Families served"]["value"] == "9"
    changes = (v2 / "CHANGES.md").read_text()
    assert ("| Kopsavilkums / Summary | Galvenie rādītāji · Apkalpotās ģimenes / Key figures · Families served "
            "| Vērtība / Value | 7 | 9 |") in changes
    assert not labels.code_words(changes.split("## What changed")[1]), changes
    changed = read_csv(v2 / "changes.csv")
    want = {"sheet": "targets", "row": "PTD-P1 / families_served /  / ALL", "column": "actual",
            "final": "7", "new": "9", "row_label": "PTD-P1 · Apkalpotās ģimenes · Visi centri / "
                                                   "PTD-P1 · Families served · All centres"}
    assert any(want.items() <= c.items() for c in changed), changed
    wb = openpyxl.load_workbook(v2 / "report.xlsx")
    assert "Izmaiņas - Changes" in wb.sheetnames
    assert _codes_in_workbook(wb) == []
    # PTD was never final: rewritten in place, no v2
    assert figure(data / "reports" / "FUND" / "PTD" / "summary.csv", "Families served") == "9"
    assert not (data / "reports" / "FUND" / "PTD" / "v2").exists()

    # The restatement is sent too: final; v1 still untouched.
    assert cli.report("FUND", "P1", final=True) == 0
    assert (v2 / "FINAL.json").exists()
    assert {f.name: sha(f) for f in p1.iterdir() if f.is_file()} == before


def test_report_command_names_what_exists(fund, capsys):
    assert cli.main(["report", "NOPE", "P1"]) == 2
    assert "No project 'NOPE'" in capsys.readouterr().err
    assert cli.main(["report", "FUND", "P9"]) == 2
    assert "P1, P2, PTD" in capsys.readouterr().err


def test_suppression_in_a_small_project(fund):
    """FUND's threshold is 3: the breakdown territory_type splits 9 families into 5 rural and 4 urban
    in P1; in January alone BAU served 6, all shown; nothing from 1 to 2 is visible."""
    rows = read_csv(fund / "reports" / "FUND" / "P1" / "v2" / "by_centre.csv")
    for r in rows:
        if r["unit"] in PEOPLE_UNITS:
            for c in ("BAU", "ALL"):
                assert r[c] in ("<3", "x") or not 0 < float(r[c]) < 3, r


def test_no_ref_or_pseudonym_in_any_extract_file(fund):
    """Extracts hold aggregates only: no family or child ref, and no pseudonym either (the
    workbook's XML is unzipped so that the scan sees its strings)."""
    import zipfile

    con = duckdb.connect(str(fund / "warehouse.duckdb"), read_only=True)
    pseudonyms = {r[0] for r in con.execute("SELECT DISTINCT family_ref FROM core.families").fetchall()}
    con.close()
    blob = b""
    for f in (fund / "reports").rglob("*"):
        if f.suffix == ".xlsx":
            with zipfile.ZipFile(f) as z:
                blob += b"".join(z.read(n) for n in z.namelist())
        elif f.is_file():
            blob += f.read_bytes()
    assert b"Test foundation" in blob and "Testa projekts".encode() in blob   # the scan sees text
    refs = set(FAMILIES) | {f"{r}-1" for r in FAMILIES}
    assert pseudonyms and refs
    for secret in refs | pseudonyms:
        assert str(secret).encode() not in blob, secret


# ------------------------------------------------------------------ for people: labels, print, services ended

def _codes_in_workbook(wb) -> list:
    """(sheet, cell, codes) of every cell that shows a code (key=value, a snake_case id)."""
    return [(ws.title, c.coordinate, labels.code_words(str(c.value)))
            for ws in wb.worksheets for r in ws.iter_rows() for c in r
            if c.value is not None and labels.code_words(str(c.value))]


def _page_text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return html_unescape(re.sub(r"<[^>]+>", " ", page))


def html_unescape(text: str) -> str:
    import html
    return html.unescape(text)


SHOWN = ("EEA-2013-150/P1", "EEA-2013-150/P7", "EEA-2013-150/PTD", "BAU-FS/2017", "ABLV-CAMPS/2017")


def test_sheets_and_page_show_labels_not_codes(sample):
    data, _, _ = sample
    assert labels.code_words("service=legal families_served") == ["service=legal", "families_served"]
    for key in SHOWN:
        folder = data / "reports" / key
        wb = openpyxl.load_workbook(folder / "report.xlsx")
        assert _codes_in_workbook(wb) == [], key
        text = _page_text((folder / "report.html").read_text(encoding="utf-8"))
        assert labels.code_words(text) == [], key
    wb = openpyxl.load_workbook(data / "reports" / "EEA-2013-150" / "PTD" / "report.xlsx")
    values = {str(c.value) for ws in wb.worksheets for r in ws.iter_rows() for c in r}
    assert {"Pakalpojums: jurists / Service: legal", "Vecums: 0–6 / Age: 0–6", "ģimenes / families",
            "Valsts līdzfinansējums / State co-financing", "Saņemta pēc termiņa / Late"} <= values
    # the CSV files keep the codes, in their own columns beside the labels
    rows = read_csv(data / "reports" / "EEA-2013-150" / "PTD" / "by_centre.csv")
    assert {"breakdown": "service=legal", "breakdown_label": "Pakalpojums: jurists / Service: legal"}.items() \
        <= next(r for r in rows if r["breakdown"] == "service=legal").items()


def test_every_code_of_the_sample_has_a_label(sample):
    _, con, _ = sample
    table = labels.table()
    for (bd,) in con.execute("SELECT DISTINCT breakdown FROM reporting.indicator_values "
                             "WHERE breakdown IS NOT NULL").fetchall():
        key, _, value = bd.partition("=")
        assert value in table["breakdowns"][key]["values"], bd
    for (unit,) in con.execute("SELECT DISTINCT unit FROM reporting.indicator_catalogue").fetchall():
        assert unit in table["units"], unit
    from sos_pipeline.validation.rules import RULES, WARNING
    for r in RULES:
        if r.severity == WARNING:
            assert labels.rule(r.id).en != r.id.replace("_", " "), r.id
    assert str(labels.rule("structure.unknown_column")) == "Nezināma kolonna / Unknown column"


def test_workbook_prints_landscape_one_page_wide_with_repeated_headers(sample):
    data, _, _ = sample
    wb = openpyxl.load_workbook(data / "reports" / "EEA-2013-150" / "PTD" / "report.xlsx")
    for ws in wb.worksheets:
        assert int(ws.page_setup.paperSize) == 9, ws.title     # A4
        if ws.title == "Grafiki - Charts":      # each chart on its own page, at full size
            assert len(ws.row_breaks.brk) == len(ws._images) - 1 == 2
            assert ws.page_setup.orientation == "landscape"
            continue
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToWidth == 1, ws.title
        if ws.title.startswith("Kopsavilkums"):
            assert ws.page_setup.fitToHeight == 1        # the summary on one page
        else:
            assert ws.page_setup.fitToHeight == 0
            assert re.fullmatch(r"\$?\d+:\$?\d+", ws.print_title_rows or ""), ws.title
    assert wb["Pa centriem - By centre"].page_setup.orientation == "landscape"
    assert wb["Datu kvalitāte - Data quality"].page_setup.orientation == "landscape"
    css = (data / "reports" / "EEA-2013-150" / "PTD" / "report.html").read_text(encoding="utf-8")
    assert "@media print" in css and "size:A4 landscape" in css and "thead{display:table-header-group}" in css
    assert "h2.page,figure.chart{break-before:page}" in css


def test_months_after_services_ended_are_labelled_not_zero(sample):
    """EEA-2013-150: services end 2015-06-30, the window on 2015-07-31."""
    data, _, _ = sample
    for label in ("P7", "PTD"):
        folder = data / "reports" / "EEA-2013-150" / label
        rows = {r["month"]: r for r in read_csv(folder / "monthly.csv")}
        july = rows["2015-07-01"]
        assert july["status"] == "after_services_end"
        assert july["status_label"] == "pēc pakalpojumu beigām / after services ended"
        assert all(july[k] == "" for k in july if k.startswith(("families_served_", "children_served_")))
        assert rows["2015-06-01"]["status"] == "" and float(rows["2015-06-01"]["families_served_ALL"]) > 0
        ws = openpyxl.load_workbook(folder / "report.xlsx")["Pa mēnešiem - Monthly"]
        last = [c.value for c in list(ws.iter_rows())[-1]]
        assert last[-1] == "pēc pakalpojumu beigām / after services ended" and set(last[1:-1]) == {None}
        assert "after services ended" in (folder / "report.html").read_text(encoding="utf-8")
    # a period that ends before the services do says nothing of it
    assert all(r["status"] == "" for r in read_csv(data / "reports" / "EEA-2013-150" / "P6" / "monthly.csv"))


def sample_extract(sample, key: str, tmp_path):
    """One extract of the sample as `extracts.build` collects it (its own suppression memo)."""
    from sos_pipeline.extracts import content, suppress
    from sos_pipeline.extracts.periods import extract_periods

    _, con, ref = sample
    ep = all_periods(ref)[key]
    project = ref.projects[ep.project]
    cells = content.project_cells(con, project, [p.label for p in extract_periods(project)],
                                  suppress.Memo(tmp_path / "memo.json"))
    return content.collect(con, ep, ref, cells)


def test_the_fast_workbook_writer_writes_what_openpyxl_writes(sample, tmp_path):
    """render.save_workbook writes each row as one string; openpyxl writes it element by element.
    A real extract of the sample, plus a sheet of awkward cells (markup characters, leading and
    trailing spaces, a text that looks like a formula, an empty text, NaN, a date and a month,
    a hidden cell), written both ways: every part of the two files is the same XML."""
    import zipfile
    from dataclasses import replace
    from xml.etree.ElementTree import canonicalize

    from sos_pipeline.extracts import content, render

    ex = sample_extract(sample, "EEA-2013-150/PTD", tmp_path)
    awkward = content.Sheet("awkward", "Dīvaini", "Awkward", [
        content.Column("t", "Teksts", "Text"), content.Column("n", "Skaits", "Number", "number"),
        content.Column("d", "Datums", "Date", "date"), content.Column("m", "Mēnesis", "Month", "month")],
        rows=[[" a & b < c > \"d\" ", 1.5, dt.date(2013, 11, 15), dt.date(2013, 11, 1)],
              ["=SUM(A1:A2)", float("nan"), None, None],
              ["", 12345678901234, dt.datetime(2020, 2, 29, 0, 0), None],
              ["Ķekava\tline", content.Hidden("<5"), None, None],
              ["  ", -0.25, None, None]])
    ex = replace(ex, sheets=[*ex.sheets, awkward])
    header = [("Virsraksts & <lv>", "Title & <en> "), ("Finansētājs", "Funder")]
    fast = zipfile.ZipFile(io.BytesIO(render.to_xlsx(ex, {}, header)))
    original = render.save_workbook
    try:
        render.save_workbook = lambda wb: original(wb, fast=False)
        slow = zipfile.ZipFile(io.BytesIO(render.to_xlsx(ex, {}, header)))
    finally:
        render.save_workbook = original
    assert fast.namelist() == slow.namelist()
    sheets = [n for n in fast.namelist() if n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == len(ex.sheets) + 1                                  # and the charts' sheet
    for name in fast.namelist():
        if name == "docProps/core.xml":                                       # when it was written
            continue
        a, b = fast.read(name).decode("utf-8"), slow.read(name).decode("utf-8")
        assert canonicalize(a) == canonicalize(b), name
    # and what a reader of the workbook gets
    ws = openpyxl.load_workbook(io.BytesIO(render.to_xlsx(ex, {}, header)))[awkward.title]
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=3, max_row=7)]
    assert values[0] == [" a & b < c > \"d\" ", 1.5, dt.datetime(2013, 11, 15), dt.datetime(2013, 11, 1)]
    assert values[1][0] == "=SUM(A1:A2)" and ws.cell(row=4, column=1).data_type == "s"  # text, never a formula
    assert values[2][:2] == [None, 12345678901234] and values[3][:2] == ["Ķekava\tline", "<5"]


def test_rows_written_with_shared_styles_are_the_cells_openpyxl_makes(sample, tmp_path):
    """to_xlsx makes the first cell of each kind (text, label, hidden, whole number, fraction,
    percent, euros, date, month, empty) through openpyxl and the next ones directly with that
    cell's style. A real extract plus a sheet holding every kind several times, written both ways:
    every part of the two files is the same XML; a text openpyxl refuses is still refused."""
    import zipfile
    from dataclasses import replace
    from xml.etree.ElementTree import canonicalize

    from openpyxl.utils.exceptions import IllegalCharacterError

    from sos_pipeline.extracts import content, render
    from sos_pipeline.extracts.labels import Label

    ex = sample_extract(sample, "BAU-FS/PTD", tmp_path)
    # a hidden headline: its cell's style is changed after it is written (the summary's values
    # wrap), which must not change the style of the hidden cells written after it
    summary = ex.sheet("summary")
    figure = next(i for i, r in enumerate(summary.rows) if r[0] == "figures")
    summary.rows[figure] = [*summary.rows[figure][:4], content.Hidden("x"), *summary.rows[figure][5:]]
    kinds = [content.Column("t", "Teksts", "Text"), content.Column("n", "Skaits", "Number", "number"),
             content.Column("p", "Daļa", "Share", "percent"), content.Column("e", "Eiro", "Euros", "eur"),
             content.Column("d", "Datums", "Date", "date"), content.Column("m", "Mēnesis", "Month", "month")]
    rows = [[Label("Ģimenes", "Families"), 3, 0.25, 1200, dt.date(2014, 1, 31), dt.date(2014, 1, 1)],
            ["=1+1", 2.5, 1, 99.5, dt.datetime(2014, 2, 1, 12, 0), dt.date(2014, 2, 1)],
            [content.Hidden("x"), content.Hidden("<5"), None, True, None, None],
            ["-3", -7, 0.0, 0, dt.date(2015, 3, 1), dt.datetime(2015, 3, 1)]] * 3
    ex = replace(ex, sheets=[*ex.sheets, content.Sheet("kinds", "Veidi", "Kinds", kinds, rows=rows)])
    header = [("Virsraksts", "Title")]
    shared = zipfile.ZipFile(io.BytesIO(render.to_xlsx(ex, {}, header)))
    own = zipfile.ZipFile(io.BytesIO(render.to_xlsx(ex, {}, header, cell_by_cell=True)))
    assert shared.namelist() == own.namelist()
    for name in shared.namelist():
        if name != "docProps/core.xml":                                       # when it was written
            assert canonicalize(shared.read(name).decode()) == canonicalize(own.read(name).decode()), name
    ws = openpyxl.load_workbook(io.BytesIO(render.to_xlsx(ex, {}, header)))["Veidi - Kinds"]
    got = [[c.value for c in row] for row in ws.iter_rows(min_row=3, max_row=6)]
    assert got[1][:4] == ["=1+1", 2.5, 1, 99.5] and ws.cell(row=4, column=1).data_type == "s"
    assert got[2][:4] == ["x", "<5", None, True] and got[3][:4] == ["-3", -7, 0, 0]
    assert [ws.cell(row=3, column=c).number_format for c in (2, 3, 4)] == ["#,##0", "0%", "#,##0.00"]
    assert ws.cell(row=4, column=2).number_format == "#,##0.0"
    bad = replace(ex, sheets=[content.Sheet("bad", "Slikti", "Bad", kinds[:1], rows=[["a"], ["b\x07c"]])])
    with pytest.raises(IllegalCharacterError):
        render.to_xlsx(bad, {}, header)


def test_monthly_chart_of_a_federation_shows_the_total_and_every_centre_in_grey(sample, tmp_path):
    """Up to six centres: a coloured line each, named in the legend, and the total dashed (the
    sample's two centres). More (a federation of 80 does not fit a legend, and colours would
    repeat): the total above, and every centre below as a grey line, under one legend entry."""
    from dataclasses import replace

    from sos_pipeline.extracts import charts, content

    ex = sample_extract(sample, "EEA-2013-150/PTD", tmp_path)
    few = charts.monthly_figure(ex, "families_served", "Ģimenes", "Families")
    (ax,) = few.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["BAU", "VAL", "Visi centri / All centres"]

    months = [m for m, _ in ex.series["families_served"]["ALL"]]
    series = {f"C{i:02d}": [(m, 10 + i) for m in months] for i in range(1, 9)}
    series["C03"][2] = (months[2], content.Hidden("<5"))
    series["ALL"] = [(m, sum(10 + i for i in range(1, 9))) for m in months]
    many = charts.monthly_figure(replace(ex, series={"families_served": series}), "families_served",
                                 "Ģimenes", "Families")
    top, bottom = many.axes
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["Visi centri / All centres"]
    assert [t.get_text() for t in bottom.get_legend().get_texts()] == ["Katrs centrs /\neach centre (8)"]
    assert len(bottom.get_lines()) == 8 and len(top.get_lines()) == 1
    assert top.get_lines()[0].get_ydata()[0] == 116                        # 11 + 12 + ... + 18
    gap = bottom.get_lines()[2].get_ydata()                                 # C03: the hidden month is a gap
    assert gap[2] != gap[2] and gap[1] == 13
    assert "gap: fewer than" in " ".join(t.get_text() for t in bottom.texts)
    assert charts.monthly(replace(ex, series={"families_served": series}), "families_served",
                          "Ģimenes", "Families").startswith(b"\x89PNG")


def test_projects_built_in_worker_processes_give_the_files_built_here(sample, tmp_path):
    """The sample's refresh built its extracts with two worker processes, a project each (the
    default, SOS_EXTRACT_WORKERS=2; the other tests build theirs in one process). Its smallest
    project built again here, in this process, gives the same files, byte for byte (the
    workbook and the page carry the time they were written; their numbers are the CSV files')."""
    import shutil

    from sos_pipeline import config
    from sos_pipeline.extracts import build

    data, _, ref = sample
    assert len(ref.projects) > 2        # (conftest builds the sample with SOS_EXTRACT_WORKERS=2)
    keys = list(all_periods(ref))
    small = sorted(ref.projects, key=lambda p: sum(k.startswith(f"{p}/") for k in keys))[:1]
    wanted = [k for k in keys if k.split("/")[0] in small]
    copy = tmp_path / "data"
    shutil.copytree(data, copy, ignore=shutil.ignore_patterns("reports", "charts", "suppression",
                                                               "extract_inputs.json", "*.lock"))
    outs = list(build(config.Paths(copy), ref, wanted, workers=1))
    assert {o.status for o in outs} <= {"written", "no-data"} and len(outs) == len(wanted)
    compared = 0
    for o in outs:
        if o.folder is None:
            continue
        rel = o.folder.relative_to(copy / "reports")
        for f in sorted(o.folder.glob("*.csv")):
            assert f.read_bytes() == (data / "reports" / rel / f.name).read_bytes(), f"{rel}/{f.name}"
            compared += 1
    assert compared >= 10
