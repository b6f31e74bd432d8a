"""Hostile and large deliveries, through the coordinator's command (`sos-pipeline refresh`).

1. A malicious inbox: delivery names built to break SQL, paths, terminals and spreadsheets;
   values built the same way in every kind of column, as CSV and as XLSX (with real formula
   cells); links pointing out of the data folder; a zip bomb; a delivery above the size
   limit. Each is rejected, or loaded with the value made harmless; nothing outside the data
   folder is touched; no published value and no extract cell starts a formula.
2. Large inputs: 200,000 contacts (a federation roll-up) load with a peak RSS under 2 GB; a
   50 MB workbook is refused at intake, before anything opens it, with a message naming its
   size and the limit (SOS_MAX_DELIVERY_MB, 32 MB by default).

Both refreshes are real subprocesses, started together (one each for the two cores) by the
module's first test; the rest of the module reads the files and databases they leave.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html.parser
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb
import openpyxl
import pytest
from conftest import TEST_KEY, one_project

from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import clean_tables

pytestmark = pytest.mark.heavy(30)   # seconds on one core: run early (tests/conftest.py)

MARKER = "CANARY-5d1c0e-OUTSIDE"        # only ever written outside the data folder
FORMULA_START = ("=", "+", "-", "@")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# Hostile values (the ones a report must never repeat are long enough to be searched for).
SQL = "'; DROP TABLE core.families; --"
QUOTES = "O'Brien \"the\" \\ back`tick"
HYPERLINK = '=HYPERLINK("http://evil.example/x","click")'
CMD = "+cmd|' /C calc'!A0"
AT = "@SUM(1)"
MINUS = "-2+3"
LONG = "L" * 100_000
CONTROLS = "nul\x00bell\x07esc\x1b[31mdel\x7f"
C1_CONTROLS = "csi\x9b31mnel\x85del\x7f"      # what XML, so a workbook, can carry (not C0)
TAB_FORMULA = "\t=1+1"
NEVER_IN_REPORTS = ("DROP TABLE", "O'Brien", "HYPERLINK", "cmd|", "@SUM", "-2+3", "L" * 50,
                    "\x00", "\x1b", "\x9b", "=1+1")

# Delivery names (each one a folder holding a valid families.csv, or a workbook).
HOSTILE_NAMES = [
    "BAU_2016-01'; DROP TABLE core.families; --",
    'BAU_2016-01"; DELETE FROM audit.deliveries; --',
    "BAU_2016-01..",
    "BAU_2016-01\\..\\..\\outside",          # (a name starting with '.' is ignored, as hidden)
    "BAU_2016-01 ..  ..",
    "N" * 255,                              # the longest name Linux allows (300 cannot exist)
    "BAU_2016-01\nBAU_2016-02",
    "BAU\x01_2016-01",
    "BAU_2016-01\x1b[2J\r",
    "BAU_2016-01\u202egpj.exe",
    '=HYPERLINK("http:evil.example","x")',
    CMD.replace("/", "\\"),                  # a name cannot hold '/'
    AT,
    MINUS,
    "-rf",
]
HOSTILE_WORKBOOK_NAMES = ["BAU_2016-02'; DROP TABLE core.families; --.xlsx", "M" * 250 + ".xlsx"]


# ---------------------------------------------------------------- building deliveries

def _month_tables(month: int) -> dict:
    return clean_tables("BAU", 2016, month)


def _replace(tables: dict, column: str, old, new) -> None:
    for rows in tables.values():
        for r in rows:
            if r.get(column) == old:
                r[column] = new


def hostile_text_tables(month: int, controls: bool = True) -> dict:
    """A delivery that passes every rule, with hostile text in every free-text column and in
    every kind of ref. Ids get the month appended (they are unique across a centre's months)."""
    t = _month_tables(month)
    m = f" m{month:02d}"
    ctrl = CONTROLS if controls else C1_CONTROLS
    for r, v in zip(t["families"], (LONG, QUOTES, TAB_FORMULA)):
        r["territory"] = v
    for r, v in zip(t["services"], (SQL, HYPERLINK, CMD, AT, MINUS, ctrl)):
        r["contact_id"] = v + m
    s = t["group_sessions"][0]
    _replace(t, "session_id", s["session_id"], CMD + m)
    s.update(group_code=MINUS, territory=ctrl)
    e = t["events"][0]
    _replace(t, "event_id", e["event_id"], SQL + m)
    e.update(title=HYPERLINK, territory=AT)
    t["mentoring"][0]["pair_id"] = AT + m
    t["trainings"][0]["training_id"] = HYPERLINK + m
    # refs: a family, a child, staff and a mentor named with hostile text
    _replace(t, "family_ref", t["families"][0]["family_ref"], HYPERLINK)
    _replace(t, "child_ref", t["mentoring"][0]["child_ref"], SQL)
    _replace(t, "staff_ref", t["services"][0]["staff_ref"], CMD)
    t["mentoring"][0]["mentor_ref"] = LONG
    return t


def hostile_typed_tables(month: int, controls: bool = True) -> dict:
    """Hostile values in dates, numbers, codes, code lists and a project code: rejected."""
    t = _month_tables(month)
    f, s = t["families"], t["services"]
    f[0].update(enrolled_on=HYPERLINK, adults=MINUS)
    f[1].update(territory_type=SQL, risk_factors=CMD)
    s[0]["date"] = LONG
    s[1]["minutes"] = AT
    s[2]["service"] = CONTROLS if controls else C1_CONTROLS
    s[3]["mode"] = QUOTES
    s[4]["project"] = HYPERLINK
    t["trainings"][0]["hours"] = MINUS
    return t


def write_workbook(path: Path, tables: dict, formulas: dict | None = None) -> Path:
    """A workbook written by openpyxl: text starting with '=' stays TEXT (openpyxl would make
    it a formula), except the cells named in `formulas` {(table, row, column): formula}, which
    are real formula cells (no cached value, as a program that never opened Excel writes)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in tables.items():
        if not rows:
            continue
        ws = wb.create_sheet(title=name)
        cols = writers.columns_for(name, rows)
        ws.append(cols)
        for i, r in enumerate(rows):
            ws.append([r.get(c) for c in cols])
            for j, c in enumerate(cols, 1):
                cell = ws.cell(row=i + 2, column=j)
                if (name, i, c) in (formulas or {}):
                    cell.value = formulas[(name, i, c)]
                    assert cell.data_type == "f"
                elif isinstance(r.get(c), str):
                    cell.value = r[c]
                    cell.data_type = "s"
    wb.save(path)
    return path


def _cell_xml(v) -> str:
    if v is None:
        return "<c/>"
    if isinstance(v, (int, float)):
        return f"<c><v>{v}</v></c>"
    if isinstance(v, dt.date):
        v = v.isoformat()
    return f'<c t="inlineStr"><is><t>{escape(str(v))}</t></is></c>'


def big_workbook(path: Path, tables: dict, rows: list[dict], table: str = "services",
                 compression: int = zipfile.ZIP_STORED) -> Path:
    """A valid .xlsx with `rows` in sheet `table`, written with zipfile (openpyxl would take
    minutes): a small real workbook, one sheet's XML then rewritten with inline strings."""
    raw = writers.workbook_bytes({**tables, table: rows[:1]})
    src = zipfile.ZipFile(io.BytesIO(raw))
    book = src.read("xl/workbook.xml").decode()
    rels = src.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet\b[^>]*\bname="{table}"[^>]*\br:id="([^"]+)"', book)[1]
    rel = next(r for r in re.findall(r"<Relationship\b[^>]*>", rels) if f'Id="{rid}"' in r)
    target = re.search(r'Target="([^"]+)"', rel)[1]
    target = target.lstrip("/") if target.startswith("/") else "xl/" + target
    cols = writers.columns_for(table, rows)
    with zipfile.ZipFile(path, "w", compression) as out:
        for info in src.infolist():
            if info.filename != target:
                out.writestr(info, src.read(info.filename))
                continue
            entry = zipfile.ZipInfo(target, date_time=(2019, 2, 3, 9, 0, 0))
            entry.compress_type = compression
            with out.open(entry, "w", force_zip64=True) as f:
                f.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                        b'<sheetData><row r="1">' + "".join(map(_cell_xml, cols)).encode() + b"</row>")
                for start in range(0, len(rows), 5000):
                    f.write("".join(f'<row r="{i}">' + "".join(_cell_xml(r.get(c)) for c in cols)
                                    + "</row>" for i, r in enumerate(rows[start:start + 5000], start + 2)
                                    ).encode())
                f.write(b"</sheetData></worksheet>")
    return path


def many_services(centre: str, year: int, month: int, n: int, project=None) -> dict:
    """A valid delivery whose services table holds n contacts (distinct contact ids)."""
    t = clean_tables(centre, year, month, project=project or (lambda c, d: None))
    base = t["services"]
    t["services"] = [dict(base[i % len(base)], contact_id=f"{centre}-S-{year}-{month:02d}-{i:07d}")
                     for i in range(n)]
    return t


# ---------------------------------------------------------------- running and reading

def _shm_root(prefix: str) -> Path:
    """In memory where the machine has it (as conftest's sample build): DuckDB and Dagster's
    fsyncs then cost nothing."""
    shm = Path("/dev/shm")
    where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix=prefix, dir=where))


@dataclass
class Run:
    root: Path
    data: Path
    proc: subprocess.Popen | None = None
    started: float = 0.0
    seconds: float = 0.0
    code: int | None = None
    maxrss_kib: int = 0
    before: dict | None = None

    def start(self, **env) -> None:
        (self.root / "logs").mkdir()
        (self.root / "dagster_home").mkdir()
        e = dict(os.environ, SOS_DATA_DIR=str(self.data), DAGSTER_HOME=str(self.root / "dagster_home"),
                 SOS_PSEUDONYM_KEY=TEST_KEY)
        for k in ("SOS_ENV", "SOS_MAX_DELIVERY_MB", "SOS_TODAY"):
            e.pop(k, None)
        e.update(env)
        self.started = time.monotonic()
        with open(self.root / "logs" / "out.txt", "w") as out, \
                open(self.root / "logs" / "err.txt", "w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "sos_pipeline", "refresh"], env=e,
                                         stdout=out, stderr=err)

    def wait(self) -> "Run":
        if self.code is None:
            _, status, usage = os.wait4(self.proc.pid, 0)   # ru_maxrss: KiB on Linux
            self.seconds = time.monotonic() - self.started
            self.code = os.waitstatus_to_exitcode(status)
            self.proc.returncode = self.code
            self.maxrss_kib = usage.ru_maxrss
        return self

    def log(self) -> str:
        return "".join((self.root / "logs" / f).read_text(errors="replace") for f in ("out.txt", "err.txt"))

    def db(self):
        return duckdb.connect(str(self.data / "warehouse.duckdb"), read_only=True)

    def audit(self) -> dict[str, tuple[str, str]]:
        con = self.db()
        try:
            return {d: (s, r or "") for d, s, r in con.execute(
                "SELECT delivery, status, reason FROM audit.deliveries ORDER BY processed_at").fetchall()}
        finally:
            con.close()

    def report(self, delivery: str) -> str:
        folders = [f for f in (self.data / "quarantine").iterdir()
                   if json.loads((f / "report.json").read_text(encoding="utf-8"))["delivery"] == delivery]
        assert len(folders) == 1, (delivery, folders)
        return (folders[0] / "REPORT.md").read_text(encoding="utf-8") + \
            (folders[0] / "report.json").read_text(encoding="utf-8")


def outside_snapshot(root: Path, skip: set[str]) -> dict:
    """Everything under root but the folders named in skip: kind, size, mtime, content."""
    out = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        d = Path(folder)
        dirs[:] = [n for n in dirs if (d / n).relative_to(root).as_posix() not in skip]
        for n in dirs + files:
            p = d / n
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                info = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                info = ("file", st.st_size, st.st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            else:
                info = ("dir", st.st_mode, st.st_mtime_ns)
            out[p.relative_to(root).as_posix()] = info
    return out


def formula_like(v: str) -> bool:
    """Text a spreadsheet would run: starts with = + - @ and is not a number."""
    if not v.startswith(FORMULA_START):
        return False
    try:
        float(v.replace(",", "."))
        return False
    except ValueError:
        return True


def all_text_values(con):
    """(schema.table.column, value) for every text value of every table of a DuckDB file."""
    cols = con.execute("SELECT table_schema, table_name, column_name, data_type FROM "
                       "information_schema.columns WHERE data_type IN ('VARCHAR', 'VARCHAR[]') "
                       "AND table_schema NOT IN ('information_schema', 'pg_catalog')").fetchall()
    for schema, table, column, kind in cols:
        expr = f'unnest("{column}")' if kind == "VARCHAR[]" else f'"{column}"'
        for (v,) in con.execute(f'SELECT DISTINCT {expr} FROM "{schema}"."{table}"').fetchall():
            if v is not None:
                yield f"{schema}.{table}.{column}", v


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells: list[str] = []
        self._in = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self._in += 1
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in -= 1

    def handle_data(self, data):
        if self._in:
            self.cells[-1] += data


def extract_cells(reports: Path):
    """(file, cell text) of every cell of every funder extract: CSV, workbook, page."""
    for f in sorted(reports.rglob("*.csv")):
        for row in csv.reader(io.StringIO(f.read_bytes().decode("utf-8-sig"))):
            for v in row:
                yield f, v
    for f in sorted(reports.rglob("*.xlsx")):
        wb = openpyxl.load_workbook(f)      # not data_only: a formula would show as one
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.value is not None:
                        assert c.data_type != "f", (f, ws.title, c.coordinate)
                        yield f, c.value if isinstance(c.value, str) else str(c.value)
    for f in sorted(reports.rglob("*.html")):
        p = _Text()
        p.feed(f.read_text(encoding="utf-8"))
        for v in p.cells:
            yield f, v.strip()


# ---------------------------------------------------------------- the two refreshes

HOSTILE_LIMIT_MB = 2      # the hostile run lowers SOS_MAX_DELIVERY_MB: small bombs will do
LARGE_CONTACTS = 200_000
PEAK_LIMIT_KIB = 2 * 1024 * 1024


def build_hostile(root: Path) -> Run:
    run = Run(root, root / "data")
    inbox = run.data / "inbox"
    inbox.mkdir(parents=True)
    # The project register of conftest (BAU-FS, BAU and VAL, 2016: where the hostile months are):
    # its 3 funder extracts hold them; the shipped register's 23 others would hold none of them.
    one_project(run.data)
    # Outside the data folder: a canary folder, and a complete valid delivery.
    canary = root / "canary"
    (canary / "sub").mkdir(parents=True)
    (canary / "group_attendance.csv").write_text(f"session_id,family_ref,child_ref\n{MARKER},B-0901,\n")
    (canary / "secret.txt").write_text(f"{MARKER}\n")
    (canary / "sub" / "services.csv").write_text(f"contact_id\n{MARKER}\n")
    for month, write in ((8, writers.write_csv_utf8), (10, writers.write_xlsx)):
        outside = clean_tables("BAU", 2016, month)
        for r in outside["families"]:
            r["territory"] = MARKER
        write(root / "outside", f"BAU_2016-{month:02d}", outside)

    # Names
    for name in HOSTILE_NAMES:
        (inbox / name).mkdir()
        (inbox / name / "families.csv").write_text("family_ref\nB-0901\n")
    for name in HOSTILE_WORKBOOK_NAMES:
        (inbox / name).write_bytes(writers.workbook_bytes(_month_tables(2)))
    with pytest.raises(OSError):                  # a 300-character name cannot exist at all
        (inbox / ("N" * 300)).mkdir()

    # A clean delivery: the warehouse must hold it, whatever the others tried.
    writers.write_csv_utf8(inbox, "BAU_2016-02", _month_tables(2))
    # Hostile values: loaded with text made harmless (CSV, then XLSX) ...
    folder = writers.write_csv_utf8(inbox, "BAU_2016-03", hostile_text_tables(3))
    (folder / '=HYPERLINK("evil.example","x").csv').write_text("a,b\n1,2\n")    # unknown table
    with open(folder / "services.csv", "r+", encoding="utf-8", newline="") as f:  # unknown column
        lines = f.read().split("\n")
        f.seek(0)
        f.write("\n".join([lines[0] + ',"@SUM(1)"'] + [ln + ",=1+1" if ln else ln for ln in lines[1:]]))
    book = write_workbook(inbox / "BAU_2016-04.xlsx", hostile_text_tables(4, controls=False))
    wb = openpyxl.load_workbook(book)
    wb.create_sheet('=HYPERLINK("e","x")').append(["a", "b"])                  # unknown sheet
    wb.save(book)
    # ... or rejected: formula cells, and hostile dates, numbers and codes (CSV and XLSX).
    formulas = {("families", 0, "territory"): HYPERLINK, ("services", 0, "contact_id"): "=1+1",
                ("services", 1, "date"): "=TODAY()", ("services", 2, "minutes"): "=2*30",
                ("services", 3, "project"): '=CONCAT("BAU","-FS")'}
    write_workbook(inbox / "BAU_2016-05.xlsx", _month_tables(5), formulas)
    writers.write_csv_utf8(inbox, "BAU_2016-06", hostile_typed_tables(6))
    write_workbook(inbox / "BAU_2016-07.xlsx", hostile_typed_tables(7, controls=False))

    # Links: a delivery that is a link; a folder holding links; a workbook link; a dangling one.
    (inbox / "BAU_2016-08").symlink_to(root / "outside" / "BAU_2016-08")
    folder = writers.write_csv_utf8(inbox, "BAU_2016-09", _month_tables(9))
    (folder / "group_attendance.csv").unlink()
    (folder / "group_attendance.csv").symlink_to(canary / "group_attendance.csv")
    (folder / "more").symlink_to(canary)
    (inbox / "BAU_2016-10.xlsx").symlink_to(root / "outside" / "BAU_2016-10.xlsx")
    (inbox / "BAU_2016-11").symlink_to(root / "nowhere")

    # Size: a zip bomb (small file, valid workbook, unpacks past 4 x the limit) and a folder
    # of CSV files above the limit.
    bomb = big_workbook(inbox / "BAU_2016-12.xlsx", _month_tables(12),
                        many_services("BAU", 2016, 12, 40_000)["services"], compression=zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < HOSTILE_LIMIT_MB * 2**20
    assert sum(i.file_size for i in zipfile.ZipFile(bomb).infolist()) > 4 * HOSTILE_LIMIT_MB * 2**20
    big = writers.write_csv_utf8(inbox, "VAL_2016-01", many_services("VAL", 2016, 1, 40_000))
    assert sum(f.stat().st_size for f in big.iterdir()) > HOSTILE_LIMIT_MB * 2**20

    run.before = outside_snapshot(root, {"data", "dagster_home", "logs"})
    return run


def build_large(root: Path) -> Run:
    run = Run(root, root / "data")
    inbox = run.data / "inbox"
    inbox.mkdir(parents=True)
    # 2019: no project runs then, so no funder extract is built (not what is measured here)
    writers.write_csv_utf8(inbox, "BAU_2019-01", many_services("BAU", 2019, 1, LARGE_CONTACTS))
    rows = many_services("BAU", 2019, 2, 155_000)["services"]
    wb = big_workbook(inbox / "BAU_2019-02.xlsx", clean_tables("BAU", 2019, 2), rows)
    assert wb.stat().st_size > 50 * 10**6
    return run


@pytest.fixture(scope="module")
def runs():
    """Both refreshes, run side by side (the large inbox is written while the hostile one is
    being refreshed); each test waits for the one it reads."""
    roots = [_shm_root("sos-hostile-"), _shm_root("sos-large-")]
    started: list[Run] = []
    try:
        hostile = build_hostile(roots[0])
        hostile.start(SOS_MAX_DELIVERY_MB=str(HOSTILE_LIMIT_MB))
        started.append(hostile)
        large = build_large(roots[1])
        large.start()
        started.append(large)
        yield {"hostile": hostile, "large": large}
    finally:
        for run in started:
            if run.code is None:
                run.proc.kill()
                run.wait()
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def hostile(runs) -> Run:
    run = runs["hostile"].wait()
    assert run.code == 0, run.log()[-5000:]
    return run


@pytest.fixture(scope="module")
def large(runs) -> Run:
    return runs["large"].wait()


# ---------------------------------------------------------------- 5. a malicious delivery

def test_nothing_outside_the_data_folder_is_touched(hostile):
    after = outside_snapshot(hostile.root, {"data", "dagster_home", "logs"})
    assert after == hostile.before
    assert (hostile.root / "outside" / "BAU_2016-08" / "families.csv").is_file()
    # and nothing from outside came in: the canaries' marker is nowhere in the data folder
    for folder, _, files in os.walk(hostile.data, followlinks=False):
        for n in files:
            p = Path(folder) / n
            if p.is_file() and not p.is_symlink():
                assert MARKER.encode() not in p.read_bytes(), p
    con = hostile.db()
    try:
        leaked = [(where, v[:40]) for where, v in all_text_values(con) if MARKER in v]
    finally:
        con.close()
    assert leaked == []


def test_archive_and_quarantine_stay_inside_the_data_folder(hostile):
    data = hostile.data.resolve()
    for top in ("archive", "quarantine"):
        n = 0
        for folder, dirs, files in os.walk(data / top, followlinks=False):
            for name in dirs + files:
                p = Path(folder) / name
                assert not p.is_symlink(), p               # links are never archived
                assert p.resolve().is_relative_to(data / top), p
                n += 1
        assert n > 20
    for name in os.listdir(data / "quarantine"):
        assert not name.startswith((".", "-")) and len(name) <= 80, name
        assert (data / "quarantine" / name / "REPORT.md").is_file()
    con = hostile.db()
    paths = [p for (p,) in con.execute("SELECT archive_path FROM audit.deliveries").fetchall()]
    con.close()
    assert len(paths) == len(hostile.audit())
    for p in paths:
        assert (data / p).resolve().is_relative_to(data / "archive"), p


def test_hostile_names_are_rejected_recorded_harmlessly_and_archived(hostile):
    audit = hostile.audit()
    malformed = {d for d, (s, r) in audit.items() if s == "rejected" and r == "intake.malformed_name"}
    assert len(malformed) == len(set(HOSTILE_NAMES) | set(HOSTILE_WORKBOOK_NAMES))
    for d in malformed:
        assert d.isprintable() and len(d) <= 100 and not formula_like(d), repr(d)
        report = hostile.report(d)
        assert "intake.malformed_name" in report
        assert not CONTROL.search(report.replace("\n", "")), repr(d)
    # the archive keeps every entry (under a harmless name; received.json has the original)
    received = {json.loads(p.read_text(encoding="utf-8"))["entry"]: p.parent
                for p in (hostile.data / "archive").glob("*/*/received.json")}
    for name in HOSTILE_NAMES + HOSTILE_WORKBOOK_NAMES:
        (copy,) = [p for p in received[name].iterdir() if p.name != "received.json"]
        assert copy.name.isprintable() and not copy.name.startswith((".", "-")), repr(copy.name)
        assert copy.name.endswith(".xlsx") == name.endswith(".xlsx")
        assert (copy / "families.csv").read_bytes() == b"family_ref\nB-0901\n" if copy.is_dir() \
            else copy.read_bytes()[:2] == b"PK"
    # the inbox is empty: nothing is stuck (a 255-character name included), links are gone
    assert os.listdir(hostile.data / "inbox") == []
    # the SQL in the names did nothing: every table is there, holding what was accepted
    con = hostile.db()
    try:
        assert con.execute("SELECT count(*) FROM core.families").fetchone()[0] == 9
        assert con.execute("SELECT count(*) FROM core.services").fetchone()[0] == 18
        assert con.execute("SELECT count(*) FROM audit.deliveries").fetchone()[0] == len(audit)
    finally:
        con.close()
    assert "DROP TABLE" in "".join(audit)          # recorded as text, harmlessly


def test_hostile_text_loads_made_harmless(hostile):
    audit = hostile.audit()
    assert audit["BAU_2016-02"][0] == "accepted"
    assert audit["BAU_2016-03"][0] == "accepted", audit["BAU_2016-03"]       # CSV
    assert audit["BAU_2016-04"][0] == "accepted", audit["BAU_2016-04"]       # XLSX
    con = hostile.db()
    try:
        ids = {m: sorted(v for (v,) in con.execute(
            "SELECT contact_id FROM core.services WHERE strftime(month, '%m') = ?", [m]).fetchall())
            for m in ("03", "04")}
        territories = {v for (v,) in con.execute(
            "SELECT territory FROM core.families WHERE strftime(month, '%m') = '03'").fetchall()}
        refs = {v for (v,) in con.execute("SELECT family_ref FROM core.families").fetchall()}
        titles = {v for (v,) in con.execute("SELECT title FROM core.events").fetchall()}
    finally:
        con.close()
    assert ids["03"] == sorted([SQL + " m03", "'" + HYPERLINK + " m03", "'" + CMD + " m03",
                                "'" + AT + " m03", "'" + MINUS + " m03",
                                "nul\ufffdbell\ufffdesc\ufffd[31mdel\ufffd m03"])
    assert "'" + HYPERLINK + " m04" in ids["04"] and SQL + " m04" in ids["04"]
    assert "csi\ufffd31mnel\ufffddel\ufffd m04" in ids["04"]
    assert territories == {LONG, QUOTES, "'=1+1"}            # a long text is kept whole
    assert "'" + HYPERLINK in titles
    # the unknown file and sheet (named like formulas) are warned about by position: a name
    # from outside is never repeated
    con = hostile.db()
    warned = con.execute("SELECT delivery, table_name, message FROM audit.findings "
                         "WHERE rule = 'structure.unknown_table' ORDER BY delivery").fetchall()
    con.close()
    assert [(d, t, m.split(" is not")[0]) for d, t, m in warned] == [
        ("BAU_2016-03", None, "The 1st entry of the folder (sorted by name)"),
        ("BAU_2016-04", None, "The 10th sheet of the workbook")]
    assert not any("HYPERLINK" in m.upper() for _, _, m in warned)
    assert all(re.fullmatch(r"[0-9a-f]{32}", r) for r in refs)  # refs are pseudonyms


def test_no_published_value_starts_a_formula_or_holds_a_control_character(hostile):
    con = hostile.db()
    try:
        values = list(all_text_values(con))
    finally:
        con.close()
    assert len(values) > 100
    bad = [(w, v[:60]) for w, v in values if formula_like(v) or CONTROL.search(v)]
    assert bad == []


def test_formula_cells_and_hostile_dates_numbers_codes_are_rejected_and_never_repeated(hostile):
    audit = hostile.audit()
    expected = {
        "BAU_2016-05": {"families.territory.required", "services.contact_id.required",
                        "services.date.required", "services.minutes.required"},
        "BAU_2016-06": {"structure.value_format"},
        "BAU_2016-07": {"structure.value_format"},
    }
    for delivery, rules in expected.items():
        status, reason = audit[delivery]
        assert status == "rejected", (delivery, reason)
        report = hostile.report(delivery)
        for rule in rules:
            assert f"`{rule}`" in report, (delivery, rule)
        for value in NEVER_IN_REPORTS:
            assert value not in report, (delivery, value)
    for delivery in ("BAU_2016-06", "BAU_2016-07"):    # each bad cell: table, column, row
        findings = json.loads(_report_json(hostile, delivery))["findings"]
        where = {(f["table"], f["column"], tuple(f["rows"])) for f in findings
                 if f["rule"] == "structure.value_format"}
        assert where == {("families", "enrolled_on", (2,)), ("families", "adults", (2,)),
                         ("services", "date", (2,)), ("services", "minutes", (3,)),
                         ("trainings", "hours", (2,))}, delivery


def _report_json(run: Run, delivery: str) -> str:
    for f in (run.data / "quarantine").iterdir():
        text = (f / "report.json").read_text(encoding="utf-8")
        if json.loads(text)["delivery"] == delivery:
            return text
    raise KeyError(delivery)


def test_links_are_never_followed(hostile):
    audit = hostile.audit()
    for delivery in ("BAU_2016-08", "BAU_2016-09", "BAU_2016-10", "BAU_2016-11"):
        status, reason = audit[delivery]
        assert (status, reason) == ("rejected", "structure.unreadable"), delivery
        assert "link" in hostile.report(delivery)
    # says how many links, never their names (a name from outside is never repeated)
    assert "holds 2 link(s)" in hostile.report("BAU_2016-09")
    assert "group_attendance.csv" not in hostile.report("BAU_2016-09")
    # nothing of them is archived: no link, and none of the linked content
    for delivery in ("BAU_2016-08", "BAU_2016-10", "BAU_2016-11"):
        (folder,) = (hostile.data / "archive" / delivery).iterdir()
        assert [p for p in folder.rglob("*") if p.is_file() and p.name != "received.json"] == []
    (folder,) = (hostile.data / "archive" / "BAU_2016-09").iterdir()
    assert sorted(p.name for p in (folder / "BAU_2016-09").iterdir()) == [
        "children.csv", "event_participants.csv", "events.csv", "families.csv",
        "group_sessions.csv", "mentoring.csv", "services.csv", "trainings.csv"]
    con = hostile.db()
    months = {m for (m,) in con.execute(
        "SELECT DISTINCT strftime(month, '%m') FROM core.families").fetchall()}
    con.close()
    assert months == {"02", "03", "04"}


def test_zip_bomb_and_oversized_folder_are_refused_unopened(hostile):
    audit = hostile.audit()
    assert audit["BAU_2016-12"] == ("rejected", "structure.unreadable")
    report = hostile.report("BAU_2016-12")
    assert re.search(r"BAU_2016-12\.xlsx unpacks to \d+\.\d MB, more than the 8 MB", report)
    assert audit["VAL_2016-01"] == ("rejected", "structure.unreadable")
    report = hostile.report("VAL_2016-01")
    assert re.search(r"VAL_2016-01 is \d+\.\d MB, more than the 2 MB a delivery may hold "
                     r"\(SOS_MAX_DELIVERY_MB\)", report)


def test_no_extract_cell_starts_a_formula(hostile):
    reports = hostile.data / "reports"
    cells = list(extract_cells(reports))
    kinds = {f.suffix for f, _ in cells}
    assert kinds == {".csv", ".xlsx", ".html"}
    assert len(cells) > 1000
    bad = [(f.relative_to(reports).as_posix(), v[:60]) for f, v in cells
           if isinstance(v, str) and (formula_like(v) or CONTROL.search(v))]
    assert bad == []
    # the warnings of the hostile CSV delivery (an unknown file, an unknown column) are in the
    # extracts' data quality sheet by rule, table, column and count: never a name or a message
    quality = "\n".join(v for f, v in cells if f.name == "data_quality.csv")
    assert "structure.unknown_table (delivery: 1 rows)" in quality
    assert "structure.unknown_column (services/column 10" in quality
    assert "HYPERLINK" not in quality.upper()


# ---------------------------------------------------------------- 6. large inputs

def test_200000_contacts_load_within_2_gb(large, capsys):
    assert large.code == 0, large.log()[-5000:]
    audit = large.audit()
    assert audit["BAU_2019-01"][0] == "accepted", audit
    con = large.db()
    n = con.execute("SELECT count(*) FROM core.services WHERE centre = 'BAU' AND "
                    "month = DATE '2019-01-01'").fetchone()[0]
    con.close()
    assert n == LARGE_CONTACTS
    with capsys.disabled():
        print(f"\nrefresh of {LARGE_CONTACTS:,} contacts + a 50 MB workbook: "
              f"{large.seconds:.1f} s, peak RSS {large.maxrss_kib / 1024:.0f} MB")
    assert large.maxrss_kib < PEAK_LIMIT_KIB


def test_a_50_mb_workbook_is_refused_before_it_is_opened(large):
    audit = large.audit()
    assert audit["BAU_2019-02"] == ("rejected", "structure.unreadable")
    report = large.report("BAU_2019-02")
    size = next((large.data / "archive" / "BAU_2019-02").glob("*/BAU_2019-02.xlsx")).stat().st_size
    assert size > 50 * 10**6                                        # archived as received
    assert f"BAU_2019-02.xlsx is {size / 2**20:.1f} MB, more than the 32 MB a delivery may hold " \
           "(SOS_MAX_DELIVERY_MB), so it was not opened" in report
    con = large.db()
    assert con.execute("SELECT count(*) FROM core.services WHERE month = DATE '2019-02-01'"
                       ).fetchone()[0] == 0
    con.close()
