"""A hostile and ambiguous corpus: every kind of file that could load partly, silently or with
personal data, through the coordinator's command (`sos-pipeline refresh`).

A generator below writes one delivery per kind (files on disk: CSV bytes written by hand,
workbooks written by openpyxl and then damaged inside their zip). A first refresh loads two
clean months; a second takes the whole hostile corpus at once. Each hostile delivery must be
rejected with its rule, the refresh must succeed (one delivery never fails the run), and the
published warehouse must be exactly as before: every core and reporting table equal, the
audit only grown by the new rows. Personal data planted in names, headers and cells must
appear nowhere outside the archive (a byte scan and a SQL scan, with positive controls).
"""
from __future__ import annotations

import codecs
import io
import os
import re
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import openpyxl
import pytest
from conftest import TEST_KEY

from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import clean_tables

pytestmark = pytest.mark.heavy(20)   # seconds on one core: run early (tests/conftest.py)

# Personal data planted in names, headers and cells. Each is found in the archive (positive
# control) and nowhere else.
CODE_IN_DELIVERY_NAME = "230385-12345"          # 23.03.1985, century digit 1
CODE_IN_FILE_NAME = "010190-11234"
CODE_IN_CELL = "325678-90123"                   # the newer personal code
CODE_IN_CHART_SHEET = "150577-10987"
EMAIL_WITH_LATVIAN_LETTERS = "jānis.ozoliņš@example.lv"
CODE_IN_EXTRA_FIELD = "311299-21234"
EMAIL_IN_SHEET_NAME = "anna.ozola@example.lv"
EMAIL_IN_HEADER = "maris.kalnins@example.lv"
PHONE_IN_HEADER = "+371 29111222"
PHONE_IN_FOLDER_NAME = "29333444"
EMAIL_IN_UNKNOWN_FILE = "liga.berzina@example.lv"
NEEDLES = (CODE_IN_DELIVERY_NAME, CODE_IN_FILE_NAME, CODE_IN_CELL, EMAIL_IN_SHEET_NAME,
           EMAIL_IN_HEADER, PHONE_IN_HEADER, PHONE_IN_FOLDER_NAME, EMAIL_IN_UNKNOWN_FILE,
           CODE_IN_CHART_SHEET, EMAIL_WITH_LATVIAN_LETTERS, CODE_IN_EXTRA_FIELD)


def _forms(needle: str) -> set[str]:
    """A needle as it could be rewritten on its way (hyphen or spaces dropped, '_' for ' ')."""
    return {needle, needle.replace("-", ""), needle.replace(" ", ""), needle.replace(" ", "_"),
            needle.replace("+", "")}


# ---------------------------------------------------------------- writing the corpus

def _csv_folder(inbox: Path, name: str, month: int, centre: str = "BAU") -> Path:
    return writers.write_csv_utf8(inbox, name, clean_tables(centre, 2016, month))


def _xlsx(inbox: Path, name: str, month: int) -> Path:
    return writers.write_xlsx(inbox, name, clean_tables("BAU", 2016, month))


def _edit_csv(path: Path, table: str, edit: Callable[[list[str]], list[str]]) -> None:
    f = path / f"{table}.csv"
    lines = f.read_text(encoding="utf-8").split("\n")
    f.write_text("\n".join(edit(lines)), encoding="utf-8")


def _edit_zip(path: Path, member: str, edit: Callable[[bytes], bytes], *, raw: bool = False) -> None:
    """Rewrite one member of a workbook's zip; raw=True damages the compressed bytes instead."""
    src = path.read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info, edit(data) if info.filename == member and not raw else data)
    blob = out.getvalue()
    if raw:     # flip bytes in the middle of the member's deflate stream (its CRC stays)
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            info = z.getinfo(member)
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        mid = start + info.compress_size // 2
        blob = blob[:mid] + bytes(b ^ 0x5A for b in blob[mid:mid + 16]) + blob[mid + 16:]
    path.write_bytes(blob)


def _sheet_member(path: Path, title: str) -> str:
    wb = openpyxl.load_workbook(path)
    index = wb.sheetnames.index(title) + 1
    return f"xl/worksheets/sheet{index}.xml"


def _rewrite_workbook(path: Path, change: Callable[[openpyxl.Workbook], None]) -> None:
    wb = openpyxl.load_workbook(path)
    change(wb)
    wb.save(path)


@dataclass(frozen=True)
class Kind:
    kind: str
    name: str                          # the delivery's name as written (without .xlsx)
    rule: str                          # the rule that must reject it
    write: Callable[[Path, "Kind"], None]
    recorded_as: str | None = None     # the name the audit shows (None: `name`)


def _unclosed_quote(inbox, k):
    p = _csv_folder(inbox, k.name, 1)
    # the second family's territory opens a quote that never closes: today the third family's
    # row, clear ref included, would be swallowed into that territory
    _edit_csv(p, "families", lambda ls: [ls[0], ls[1], ls[2].replace(",Gailīšu", ',"Gailīšu'), *ls[3:]])


def _extra_field(inbox, k):
    p = _csv_folder(inbox, k.name, 2)
    _edit_csv(p, "services", lambda ls: [ls[0], ls[1], ls[2].replace(",social_work,", ",social,work,"), *ls[3:]])


def _cut_row(inbox, k):
    p = _csv_folder(inbox, k.name, 3)
    f = p / "services.csv"
    data = f.read_bytes().rstrip(b"\n")
    f.write_bytes(data[: data.rfind(b",", 0, data.rfind(b",") - 1)])     # the last row cut short


def _duplicate_sheet(inbox, k):
    p = _xlsx(inbox, k.name, 4)

    def change(wb):
        copy = wb.copy_worksheet(wb["families"])
        copy.title = "FAMILIES "
    _rewrite_workbook(p, change)


def _duplicate_file(inbox, k):
    p = _csv_folder(inbox, k.name, 5)
    (p / "Families .csv").write_bytes((p / "families.csv").read_bytes())


def _duplicate_column(inbox, k):
    p = _csv_folder(inbox, k.name, 6)
    _edit_csv(p, "children", lambda ls: [l + "," + l.split(",")[3] if l else l for l in ls])
    (p / "children.csv").write_text((p / "children.csv").read_text(encoding="utf-8")
                                    .replace(",sex", ",SEX", 1).replace("disability,SEX", "disability,Sex "),
                                    encoding="utf-8")


def _subfolder(inbox, k):
    p = _csv_folder(inbox, k.name, 7)
    (p / "extra").mkdir()
    (p / "events.csv").rename(p / "extra" / "events.csv")


def _wrong_type(inbox, k):
    p = _csv_folder(inbox, k.name, 8)
    (p / "events.csv").rename(p / "events.txt")


def _error_value_csv(inbox, k):
    p = _csv_folder(inbox, k.name, 9)
    _edit_csv(p, "services", lambda ls: [ls[0], ls[1].replace(",60,", ",#N/A,"), *ls[2:]])


def _error_value_cached(inbox, k):
    p = _xlsx(inbox, k.name, 10)
    member = _sheet_member(p, "services")

    def edit(xml: bytes) -> bytes:
        # the minutes cell of the first contact: a formula whose cached result is #DIV/0!
        text = xml.decode()
        cell = re.search(r'<c r="F2"[^>]*>.*?</c>', text)
        assert cell, "minutes of row 2 expected in column F"
        return text.replace(cell.group(0), '<c r="F2" t="e"><f>60/0</f><v>#DIV/0!</v></c>').encode()
    _edit_zip(p, member, edit)


def _scientific_ref(inbox, k):
    p = _csv_folder(inbox, k.name, 11)
    _edit_csv(p, "services", lambda ls: [ls[0], re.sub(r",BS-01,", ",1.23457E+11,", ls[1]), *ls[2:]])


def _utf16(inbox, k):
    p = _csv_folder(inbox, k.name, 12)
    f = p / "children.csv"
    text = f.read_text(encoding="utf-8").replace(",", "\t")
    f.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))


def _workbook_as_csv(inbox, k):
    p = _csv_folder(inbox, k.name, 1, centre="VAL")
    (p / "children.csv").write_bytes(writers.workbook_bytes({"children": clean_tables("VAL", 2016, 1)["children"]}))


def _tab_separated(inbox, k):
    p = _csv_folder(inbox, k.name, 2, centre="VAL")
    f = p / "children.csv"
    f.write_text(f.read_text(encoding="utf-8").replace(",", "\t"), encoding="utf-8")


def _broken_sheet_xml(inbox, k):
    p = _xlsx(inbox, k.name, 3)
    _edit_zip(p, _sheet_member(p, "children"), lambda x: x.replace(b"</sheetData>", b"</sheetDat>"))


_INLINE = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*?) t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>', re.S)


def shared_strings(path: Path) -> None:
    """Turn a workbook's inline strings (what openpyxl writes) into a shared-strings table, as
    Excel writes them."""
    src = path.read_bytes()
    strings: dict[bytes, int] = {}

    def share(m: re.Match) -> bytes:
        i = strings.setdefault(m.group(3), len(strings))
        return b'<c r="%s"%s t="s"><v>%d</v></c>' % (m.group(1), m.group(2), i)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = _INLINE.sub(share, data)
            elif info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType='
                                    b'"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Type="http://schemas.openxmlformats.org/'
                                    b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml" '
                                    b'Id="rIdSst"/></Relationships>')
            zout.writestr(info, data)
        sst = b"".join(b"<si><t>%s</t></si>" % t for t in strings)
        zout.writestr("xl/sharedStrings.xml", b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                      b'2006/main" count="%d" uniqueCount="%d">%s</sst>' % (len(strings), len(strings), sst))
    path.write_bytes(out.getvalue())


def _nul_in_shared_strings(inbox, k):
    p = writers.write_xlsx(inbox, k.name, clean_tables("VAL", 2016, 4))
    shared_strings(p)
    _edit_zip(p, "xl/sharedStrings.xml", lambda x: x.replace(b"Valmiera", b"Val\x00miera", 1))


def _invalid_byte_in_shared_strings(inbox, k):
    p = writers.write_xlsx(inbox, k.name, clean_tables("VAL", 2017, 4))
    shared_strings(p)
    _edit_zip(p, "xl/sharedStrings.xml", lambda x: x.replace(b"Valmiera", b"Val\xffmiera", 1))


def _broken_deflate(inbox, k):
    p = _xlsx(inbox, k.name, 5)
    _edit_zip(p, _sheet_member(p, "services"), None, raw=True)


def _xls_renamed(inbox, k):
    (inbox / f"{k.name}.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2000)


def _email_header(inbox, k):
    p = _csv_folder(inbox, k.name, 7, centre="VAL")
    _edit_csv(p, "families", lambda ls: [ls[0] + "," + EMAIL_IN_HEADER] + [l + ",x" if l else l for l in ls[1:]])


def _phone_header(inbox, k):
    p = _xlsx(inbox, k.name, 8)

    def change(wb):
        ws = wb["children"]
        col = ws.max_column + 1
        ws.cell(row=1, column=col, value=PHONE_IN_HEADER)
    _rewrite_workbook(p, change)


def _code_in_file_name(inbox, k):
    p = _csv_folder(inbox, k.name, 9, centre="VAL")
    (p / f"notes {CODE_IN_FILE_NAME}.csv").write_text("note\nok\n", encoding="utf-8")


def _email_in_sheet_name(inbox, k):
    p = _xlsx(inbox, k.name, 11)

    def change(wb):
        wb.create_sheet(EMAIL_IN_SHEET_NAME).append(["x"])
    _rewrite_workbook(p, change)


def _code_in_delivery_name(inbox, k):
    writers.write_xlsx(inbox, k.name, clean_tables("BAU", 2016, 12))


def _phone_in_subfolder_name(inbox, k):
    p = _csv_folder(inbox, k.name, 10, centre="VAL")
    (p / f"from {PHONE_IN_FOLDER_NAME}").mkdir()
    (p / f"from {PHONE_IN_FOLDER_NAME}" / "readme.txt").write_text("x", encoding="utf-8")


def _code_in_cell(inbox, k):
    p = _csv_folder(inbox, k.name, 12, centre="VAL")
    _edit_csv(p, "events", lambda ls: [ls[0], ls[1].replace("Drošs internets", CODE_IN_CELL), *ls[2:]])


def _email_in_unknown_file(inbox, k):
    p = writers.write_csv_utf8(inbox, k.name, clean_tables("VAL", 2017, 1))
    (p / "contacts.csv").write_text(f'who,"where\n{EMAIL_IN_UNKNOWN_FILE}\n', encoding="utf-8")


def _int_overflow(inbox, k):
    p = writers.write_csv_utf8(inbox, k.name, clean_tables("VAL", 2017, 2))
    _edit_csv(p, "trainings", lambda ls: [ls[0], ls[1].replace(",4,social_worker", ",99999999999,social_worker"), *ls[2:]])


def _newline_in_ref(inbox, k):
    p = writers.write_csv_utf8(inbox, k.name, clean_tables("VAL", 2017, 3))
    _edit_csv(p, "services", lambda ls: [ls[0], ls[1].replace(",VS-01,", ',"VS-\n01",'), *ls[2:]])


def _mixed_encodings(inbox, k):
    p = writers.write_csv_cp1257(inbox, k.name, clean_tables("VAL", 2017, 5))
    f = p / "families.csv"       # a row edited in a UTF-8 editor: its letters are UTF-8 bytes
    data = f.read_bytes().replace("Kocēnu".encode("cp1257"), "Kocēnu".encode("utf-8"))
    f.write_bytes(data.replace(b"Valmiera", "Valmieras pilsēta".encode("cp1257"), 1))


def _name_not_utf8(inbox, k):
    p = writers.write_csv_utf8(inbox, k.name, clean_tables("VAL", 2017, 6))
    # a file name in a legacy code page: bytes that are not UTF-8 (the table is then missing)
    (p / "families.csv").rename(p / os.fsdecode("famil\u010dies.csv".encode("cp1257")))


def _code_in_chart_sheet(inbox, k):
    from openpyxl.chart import BarChart

    p = writers.write_xlsx(inbox, k.name, clean_tables("VAL", 2017, 7))
    _rewrite_workbook(p, lambda wb: wb.create_chartsheet(CODE_IN_CHART_SHEET).add_chart(BarChart()))


def _latvian_email_header(inbox, k):
    p = writers.write_csv_utf8(inbox, k.name, clean_tables("VAL", 2017, 8))
    _edit_csv(p, "children", lambda ls: [ls[0] + "," + EMAIL_WITH_LATVIAN_LETTERS] + [l + ",x" if l else l for l in ls[1:]])


def _code_in_extra_field(inbox, k):
    p = writers.write_csv_utf8(inbox, k.name, clean_tables("VAL", 2017, 9))
    _edit_csv(p, "children", lambda ls: [ls[0], ls[1] + "," + CODE_IN_EXTRA_FIELD, *ls[2:]])


HOSTILE = [
    Kind("unclosed quote", "BAU_2016-01", "structure.csv_quote", _unclosed_quote),
    Kind("a row with an extra field", "BAU_2016-02", "structure.csv_fields", _extra_field),
    Kind("the last row cut short", "BAU_2016-03", "structure.csv_fields", _cut_row),
    Kind("two sheets for one table", "BAU_2016-04", "structure.duplicate_table", _duplicate_sheet),
    Kind("two files for one table", "BAU_2016-05", "structure.duplicate_table", _duplicate_file),
    Kind("a duplicate column", "BAU_2016-06", "structure.duplicate_column", _duplicate_column),
    Kind("a table inside a subfolder", "BAU_2016-07", "structure.subfolder", _subfolder),
    Kind("a table saved as .txt", "BAU_2016-08", "structure.file_type", _wrong_type),
    Kind("#N/A typed in a CSV", "BAU_2016-09", "structure.error_value", _error_value_csv),
    Kind("#DIV/0! cached by a formula", "BAU_2016-10", "structure.error_value", _error_value_cached),
    Kind("a ref in scientific notation", "BAU_2016-11", "structure.id_scientific", _scientific_ref),
    Kind("UTF-16 'Unicode text'", "BAU_2016-12", "structure.encoding", _utf16),
    Kind("a workbook renamed to .csv", "VAL_2016-01", "structure.encoding", _workbook_as_csv),
    Kind("tab-separated text", "VAL_2016-02", "structure.encoding", _tab_separated),
    Kind("sheet XML not well-formed", "VAL_2016-03", "structure.unreadable", _broken_sheet_xml),
    Kind("NUL byte in shared strings", "VAL_2016-04", "structure.unreadable", _nul_in_shared_strings),
    Kind("an invalid byte in shared strings", "VAL_2017-04", "structure.unreadable",
         _invalid_byte_in_shared_strings),
    Kind("broken compression in the zip", "VAL_2016-05", "structure.unreadable", _broken_deflate),
    Kind("an .xls renamed to .xlsx", "VAL_2016-06", "structure.unreadable", _xls_renamed),
    Kind("an e-mail address as a header", "VAL_2016-07", "privacy.pii_column", _email_header),
    Kind("a phone number as a header", "VAL_2016-08", "privacy.pii_column", _phone_header),
    Kind("a personal code in a file name", "VAL_2016-09", "privacy.pii_name", _code_in_file_name),
    Kind("a phone number in a subfolder name", "VAL_2016-10", "privacy.pii_name", _phone_in_subfolder_name),
    Kind("an e-mail address as a sheet name", "VAL_2016-11", "privacy.pii_name", _email_in_sheet_name),
    Kind("the new personal code in a cell", "VAL_2016-12", "privacy.personal_code", _code_in_cell),
    Kind("an e-mail in a file that is no table", "VAL_2017-01", "privacy.email", _email_in_unknown_file),
    Kind("a count too large to store", "VAL_2017-02", "structure.value_format", _int_overflow),
    Kind("a ref spanning two lines", "VAL_2017-03", "structure.value_format", _newline_in_ref),
    Kind("Windows-1257 with UTF-8 letters mixed in", "VAL_2017-05", "structure.undecodable",
         _mixed_encodings),
    Kind("a file name that is not UTF-8", "VAL_2017-06", "structure.missing_table", _name_not_utf8),
    Kind("a personal code as a chart sheet's name", "VAL_2017-07", "privacy.pii_name", _code_in_chart_sheet),
    Kind("an e-mail with Latvian letters as a header", "VAL_2017-08", "privacy.pii_column",
         _latvian_email_header),
    Kind("a personal code in a row with a field too many", "VAL_2017-09", "privacy.personal_code",
         _code_in_extra_field),
    Kind("a personal code in the delivery's name", f"BAU_2016-12 {CODE_IN_DELIVERY_NAME}",
         "privacy.pii_name", _code_in_delivery_name, recorded_as="withheld-"),
]


# ---------------------------------------------------------------- running it

def _refresh(data_dir: Path, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, SOS_DATA_DIR=str(data_dir), DAGSTER_HOME=str(home), SOS_PSEUDONYM_KEY=TEST_KEY)
    env.pop("SOS_ENV", None)
    return subprocess.run([sys.executable, "-m", "sos_pipeline", "refresh"], env=env, capture_output=True,
                          text=True, timeout=600)


def _snapshot(db: Path) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                             "WHERE schema_name IN ('core', 'reporting', 'audit') ORDER BY ALL").fetchall()
        return {f"{s}.{t}": [tuple(map(repr, r)) for r in con.execute(f"SELECT * FROM {s}.{t} ORDER BY ALL").fetchall()]
                for s, t in tables}
    finally:
        con.close()


# One project (the code the clean deliveries use) over few reporting periods: its funder
# extracts are built and scanned, and the refreshes stay short.
PROJECTS = """\
projects:
  - code: BAU-FS
    name_lv: Ģimeņu stiprināšana
    name_en: Family strengthening
    funder: Bauska county municipality
    centres: [BAU]
    start: 2015-01-01
    end: 2016-12-31
    reporting_months: 12
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    data, home = root / "data", root / "dagster_home"
    (data / "inbox").mkdir(parents=True)
    (data / "reference").mkdir()
    (data / "reference" / "projects.yaml").write_text(PROJECTS, encoding="utf-8")
    home.mkdir()
    writers.write_csv_utf8(data / "inbox", "BAU_2015-06", clean_tables("BAU", 2015, 6))
    writers.write_xlsx(data / "inbox", "VAL_2015-06", clean_tables("VAL", 2015, 6))
    first = _refresh(data, home)
    assert first.returncode == 0, first.stdout + first.stderr
    before = _snapshot(data / "warehouse.duckdb")
    for k in HOSTILE:
        k.write(data / "inbox", k)
    second = _refresh(data, home)
    return dict(data=data, home=home, before=before, after=_snapshot(data / "warehouse.duckdb"),
                second=second)


def test_the_refresh_succeeds_and_leaves_nothing_queued(corpus):
    """One delivery never fails the run, and none stays queued to block the next refresh."""
    second = corpus["second"]
    assert second.returncode == 0, second.stdout + second.stderr
    assert not list((corpus["data"] / ".work" / "pending").glob("*.json"))
    assert not list((corpus["data"] / "inbox").iterdir())


def test_every_hostile_delivery_is_rejected_with_its_rule(corpus):
    con = duckdb.connect(str(corpus["data"] / "warehouse.duckdb"), read_only=True)
    try:
        status = dict(con.execute("SELECT delivery, status FROM audit.deliveries").fetchall())
        rules = {}
        for delivery, rule in con.execute("SELECT delivery, rule FROM audit.findings WHERE severity = 'error'").fetchall():
            rules.setdefault(delivery, set()).add(rule)
    finally:
        con.close()
    wrong = []
    for k in HOSTILE:
        name = k.name if k.recorded_as is None else next(
            (d for d in status if d.startswith(k.recorded_as)), None)
        if status.get(name) != "rejected" or k.rule not in rules.get(name, set()):
            wrong.append((k.kind, k.name, status.get(name), sorted(rules.get(name, ()))))
    assert not wrong, "\n".join(map(str, wrong))


def test_one_message_for_a_file_in_an_encoding_that_is_not_accepted(corpus):
    """UTF-16, a workbook renamed to .csv: one error that says what the file is, not dozens of
    'missing column' errors."""
    con = duckdb.connect(str(corpus["data"] / "warehouse.duckdb"), read_only=True)
    try:
        for name, what in (("BAU_2016-12", "UTF-16"), ("VAL_2016-01", "renamed to .csv"),
                           ("VAL_2016-02", "tab-separated")):
            errors = con.execute("SELECT rule, message FROM audit.findings WHERE delivery = ? AND "
                                 "severity = 'error'", [name]).fetchall()
            assert len(errors) == 1 and errors[0][0] == "structure.encoding", errors
            assert what in errors[0][1] and "CSV UTF-8" in errors[0][1]
        (msg,) = con.execute("SELECT message FROM audit.findings WHERE delivery = 'BAU_2016-01' AND "
                             "rule = 'structure.csv_quote'").fetchone()
        assert "row 3" in msg and "families.csv" in msg
        (rows,) = con.execute("SELECT source_rows FROM audit.findings WHERE delivery = 'BAU_2016-02' AND "
                              "rule = 'structure.csv_fields'").fetchone()
        assert rows == [3]
    finally:
        con.close()


def test_the_published_warehouse_is_exactly_as_before(corpus):
    before, after = corpus["before"], corpus["after"]
    assert before.keys() == after.keys()
    for table in before:
        if table.startswith("audit."):
            assert set(before[table]) <= set(after[table]), table     # only grown
        elif table == "reporting.completeness":
            # who has delivered: a rejected month is "rejected" now, not "missing"; nothing else
            changed = {(r[0], r[1]): r for r in after[table]}
            for row in before[table]:
                new = changed[(row[0], row[1])]
                assert new == row or (row[5] == "'missing'" and new[5] == "'rejected'"
                                      and new[4] == "None"), (row, new)
        else:
            assert before[table] == after[table], table
    grown = len(corpus["after"]["audit.deliveries"]) - len(before["audit.deliveries"])
    assert grown == len(HOSTILE)


def _files(root: Path, skip: Path | None = None):
    for p in sorted(root.rglob("*")):
        if skip is not None and (p == skip or skip in p.parents):
            continue
        yield p


def _blobs(path: Path):
    """The bytes of a file, and of every member when it is a zip (xlsx)."""
    data = path.read_bytes()
    yield data
    if data.startswith(b"PK"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for info in z.infolist():
                    yield z.read(info.filename)
        except (zipfile.BadZipFile, zlib.error, ValueError):    # the damaged workbooks
            pass


def _hits(root: Path, skip: Path | None = None) -> list[tuple[str, str]]:
    found = []
    for p in _files(root, skip):
        rel = str(p.relative_to(root))
        for needle in NEEDLES:
            for form in _forms(needle):
                if form in rel:
                    found.append((needle, f"name {rel}"))
                if p.is_file() and not p.is_symlink():
                    for blob in _blobs(p):
                        if form.encode() in blob or form.encode("utf-16-le") in blob:
                            found.append((needle, rel))
    return found


def test_personal_data_never_leaves_the_archive(corpus):
    data, home = corpus["data"], corpus["home"]
    # positive control: every needle is in the archive, in a name or in a file
    archived = {n for n, _ in _hits(data / "archive")}
    assert archived == set(NEEDLES)
    assert list((data / "reports").rglob("report.xlsx")), "the funder extracts are scanned too"
    outside = _hits(data, skip=data / "archive") + _hits(home)
    for run in (corpus["second"],):
        for needle in NEEDLES:
            for form in _forms(needle):
                if form in run.stdout + run.stderr:
                    outside.append((needle, "CLI output"))
    assert not outside, outside


def test_a_sql_scan_of_every_text_column_finds_no_personal_data(corpus):
    """DuckDB compresses strings, so a byte scan alone could miss one: every VARCHAR column too."""
    con = duckdb.connect(str(corpus["data"] / "warehouse.duckdb"), read_only=True)
    try:
        cols = con.execute("SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                           "WHERE data_type LIKE 'VARCHAR%' AND schema_name NOT IN ('information_schema', "
                           "'pg_catalog') AND database_name = current_database()").fetchall()
        assert len(cols) > 20
        found = []
        # positive control: a delivery name is found by the same scan
        assert any(con.execute(f'SELECT count(*) FROM "{s}"."{t}" WHERE "{c}"::VARCHAR LIKE ?',
                               ["%BAU_2016-07%"]).fetchone()[0] for s, t, c in cols)
        for s, t, c in cols:
            for needle in NEEDLES:
                for form in _forms(needle):
                    n = con.execute(f'SELECT count(*) FROM "{s}"."{t}" WHERE "{c}"::VARCHAR LIKE ?',
                                    [f"%{form}%"]).fetchone()[0]
                    if n:
                        found.append((needle, f"{s}.{t}.{c}"))
    finally:
        con.close()
    assert not found, found


def test_a_name_holding_personal_data_is_recorded_as_withheld(corpus):
    data = corpus["data"]
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        (delivery, path, reason), = con.execute(
            "SELECT delivery, archive_path, reason FROM audit.deliveries WHERE delivery LIKE 'withheld-%'").fetchall()
    finally:
        con.close()
    assert re.fullmatch(r"withheld-[0-9a-f]{12}", delivery)
    assert reason.startswith("privacy.pii_name")
    assert (data / path).is_file() and path.endswith("/delivery.xlsx")
    assert (data / "quarantine" / delivery / "REPORT.md").is_file()
    received = (data / path).parent / "received.json"
    assert CODE_IN_DELIVERY_NAME in received.read_text(encoding="utf-8")      # the archive keeps it


def test_the_ui_job_rejects_a_damaged_or_personal_delivery_without_repeating_it(data_dir):
    """The UI's `load_delivery` job, one partition at a time, on the same kinds: the partition's
    blocking `validation` check fails with the rule, the delivery is quarantined, and no event, log
    line or metadata holds the name."""
    from dagster import DagsterEventType, DagsterInstance

    from sos_pipeline.definitions import build_definitions

    kinds = {k.name: k for k in HOSTILE}
    for name in ("VAL_2016-03", "VAL_2016-11"):       # sheet XML not well-formed; e-mail as sheet name
        kinds[name].write(data_dir / "inbox", kinds[name])
    defs = build_definitions(str(data_dir))
    with DagsterInstance.ephemeral() as instance:
        assert defs.resolve_job_def("intake").execute_in_process(instance=instance).success
        for partition, rule in (("VAL|2016-03", "structure.unreadable"), ("VAL|2016-11", "privacy.pii_name")):
            result = defs.resolve_job_def("load_delivery").execute_in_process(
                partition_key=partition, instance=instance, raise_on_error=False)
            (gate,) = [e.event_specific_data for e in result.all_events
                       if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION]
            assert (gate.check_name, gate.partition, gate.passed, gate.blocking) == (
                "validation", partition, False, True)
            suites = gate.metadata["by_suite"].value
            assert [r.split(" ")[0] for r in suites["structure_and_privacy"]["errors"]] == [rule]
            assert suites["families"] == {"result": "not run"}
        logs = instance.all_logs(result.run_id)
        text = "\n".join(repr(e) for e in logs)
        assert "load_deliveries" in text and "by_suite" in text   # positive control: the events are there
        for needle in NEEDLES:
            assert needle not in text
    con = duckdb.connect(str(data_dir / ".work" / "warehouse.duckdb"), read_only=True)
    try:
        assert sorted(con.execute("SELECT delivery, status FROM audit.deliveries").fetchall()) == [
            ("VAL_2016-03", "rejected"), ("VAL_2016-11", "rejected")]
        assert con.execute("SELECT count(*) FROM core.families").fetchone() == (0,)
    finally:
        con.close()
    assert not list((data_dir / ".work" / "pending").glob("*.json"))
