"""Read one delivery, in whatever dialect the centre's spreadsheet produced (exports.md).

`read_raw_delivery` returns a delivery's contract tables as raw cells (with each row's
number as the coordinator sees it in the file) and the findings of the structure checks and
of the privacy gate. The loader types the raw tables of a whole chunk of deliveries at once
in DuckDB (ingest/cells.py, rules in sql/load/typing.sql), where refs become pseudonyms
before anything is written to the warehouse. `read_delivery` is the same for one delivery,
with its typed tables as pandas frames.

Reading never loses, shifts or invents a row: CSV is parsed strictly (an unclosed quote
or a row with more or fewer fields than the header is an error naming the line), every
row of a sheet is read whatever its stored dimension says, two files or sheets for one
table are an error, and every entry of a delivery folder is either read or named in a
finding. Names from outside (files, sheets, headers that are not the contract's) are
never repeated in a finding: they are referred to by position ("file 3 of the folder"),
because a name may hold personal data (docs/validation-rules.md).
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from pathlib import Path

import pandas as pd

from sos_pipeline import contract
from sos_pipeline.findings import ERROR, WARNING, Finding
from sos_pipeline.ingest import privacy

csv.field_size_limit(1 << 24)



def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass
class RawTable:
    name: str                         # the contract table it maps to, or "" (not a table)
    source: str                       # how messages name it: "families.csv", "sheet families",
                                      # or by position ("the 3rd file of the folder")
    headers: list[str]                # as written, trimmed
    rows: list[tuple[int, list]]      # (source row number, cells)
    empty: bool = False               # no header and no rows: the table with no rows (exports.md)
    # Rows that could not be read as rows (a wrong field count; every line after a broken quote):
    # never loaded, but scanned for personal data like the others, so a report says so.
    unparsed: list[tuple[int, list]] = field(default_factory=list)
    text: bool = False                # every cell is a str (CSV); a workbook's cells are typed


@dataclass
class Delivery:
    raw: dict[str, RawTable] = field(default_factory=dict)     # contract tables with rows, untyped
    findings: list[Finding] = field(default_factory=list)
    form: str = ""                    # csv-utf8, csv-cp1257, xlsx
    row_counts: dict[str, int] = field(default_factory=dict)
    typed: bool | None = None         # None: not read far enough to type (privacy gate, unreadable)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # read_delivery: typed frames

    @property
    def ok(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)


def table_key(name: str) -> str:
    """The table a file stem or sheet name stands for: case, surrounding spaces and inner runs
    of spaces ignored ('Group Attendance ' -> 'group_attendance')."""
    return re.sub(r"\s+", "_", name.strip().casefold())


# ---------------------------------------------------------------- recognising what a file is

_SAVE_AS = "Open it in the spreadsheet and save it again as 'CSV UTF-8 (Comma delimited)' (.csv)"


def file_kind_problem(data: bytes) -> str | None:
    """What a file that is no CSV text is, in the coordinator's words, or None."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return ("is UTF-32 text, which is not accepted. " + _SAVE_AS + ".")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(data):
        return ("is UTF-16 text: what Excel writes as 'Unicode text' (tab-separated), which is not "
                "accepted. " + _SAVE_AS + ".")
    if data.startswith(b"PK\x03\x04"):
        return ("is not text but a zipped document (an Excel .xlsx or OpenDocument file renamed "
                "to .csv). " + _SAVE_AS + ", or send the workbook itself as the delivery.")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return ("is an old Excel 97-2003 (.xls) workbook renamed to .csv. " + _SAVE_AS + ".")
    if data.startswith(b"%PDF"):
        return "is a PDF document, not CSV text. " + _SAVE_AS + "."
    return None


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 without a byte-order mark: every other byte of Latin text is NUL."""
    head = data[:200]
    return len(head) >= 8 and head.count(b"\x00") >= len(head) // 3


# Latvian letters (ā č ē ģ ī ķ ļ ņ š ū ž and capitals) as UTF-8 bytes: in a file that is not
# UTF-8 they mean two encodings were mixed (read as Windows-1257 they would be mojibake: "Ä«").
_UTF8_LATVIAN = re.compile(b"|".join(re.escape(ch.encode()) for ch in "āčēģīķļņšūžĀČĒĢĪĶĻŅŠŪŽ"))


def decode(data: bytes, source: str, table: str | None) -> tuple[str | None, str, list[Finding]]:
    """UTF-8 (with or without BOM) or Windows-1257. Never latin-1: it corrupts ā č ē ģ ..."""
    kind = file_kind_problem(data)
    if kind:
        return None, "", [Finding("structure.encoding", ERROR, table, None,
                                  f"{source} {kind}", (), 1)]
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf8", []
    except UnicodeDecodeError:
        pass
    mixed = _UTF8_LATVIAN.search(data)
    if mixed:       # UTF-8 letters beside bytes that are not UTF-8: two encodings in one file
        line = data[: mixed.start()].count(b"\n") + 1
        return None, "", [Finding(
            "structure.undecodable", ERROR, table, None,
            f"{source} mixes two encodings: some letters are UTF-8 (line {line}), other bytes are "
            "not, so its letters cannot be read reliably. Save it again from the spreadsheet as "
            "'CSV UTF-8'.", (line,), 1)]
    try:
        text = data.decode("cp1257")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, "", [Finding(
            "structure.undecodable", ERROR, table, None,
            f"{source} is neither UTF-8 nor Windows-1257 text (first bad byte at line {line}). "
            "Save it again from the spreadsheet as 'CSV UTF-8'.", (line,), 1)]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return None, "", [Finding(
            "structure.undecodable", ERROR, table, None,
            f"{source} holds a NUL byte (line {line}): it is not plain text. Save it again from "
            "the spreadsheet as 'CSV UTF-8'.", (line,), 1)]
    return text, "cp1257", []


# ---------------------------------------------------------------- CSV, strictly

def _blank(cells: list[str]) -> bool:
    """A CSV row whose every field is empty or white space."""
    return not "".join(cells).strip()


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip(" \t,;"):
            return line
    return ""


def _delimiter(text: str) -> str | None:
    """`,` or `;` from the first non-blank line; None when it is tab-separated."""
    first = _first_line(text) or text.split("\n", 1)[0]    # all blank: the delimiters it has
    commas, semis = first.count(","), first.count(";")
    if "\t" in first and not commas and not semis:
        return None
    return ";" if semis > commas else ","


def parse_csv(text: str, name: str, source: str) -> tuple[RawTable, list[Finding]]:
    """Rows numbered as a spreadsheet shows them (the header is row 1, a quoted newline stays in
    its row). An unclosed quote or a row whose field count differs from the header's is an error
    naming the row and line; nothing after it is guessed at."""
    table = name or None
    delimiter = _delimiter(text)
    if delimiter is None:
        return RawTable(name, source, [], [], text=True), [Finding(
            "structure.encoding", ERROR, table, None,
            f"{source} is tab-separated text (Excel's 'Text (Tab delimited)' or 'Unicode text'), "
            f"not CSV. {_SAVE_AS}.", (1,), 1)]
    try:        # the common case, at C speed: every record parsed, every row as wide as the header
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error:
        records = None
    if records is not None:
        first = next((i for i, cells in enumerate(records) if cells and not _blank(cells)), None)
        if first is None:
            return RawTable(name, source, [], [], empty=True, text=True), []
        headers = [c.strip() for c in records[first]]
        # numbered as below: every record counts, blank ones too; a row is blank when every
        # field is (looked at only when its first field is blank)
        rows = [(n, cells) for n, cells in enumerate(records[first + 1:], first + 2)
                if cells and ((cells[0] and not cells[0].isspace()) or not _blank(cells))]
        if set(map(len, map(itemgetter(1), rows))) <= {len(headers)}:
            return RawTable(name, source, headers, rows, text=True), []
    return _parse_by_row(text, name, source, delimiter)


def _parse_by_row(text: str, name: str, source: str, delimiter: str) -> tuple[RawTable, list[Finding]]:
    """parse_csv row by row: what it does when something is wrong, for the row and line numbers."""
    table = name or None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list]] = []
    headers: list[str] | None = None
    wrong: list[int] = []
    unparsed: list[tuple[int, list]] = []
    record, line = 0, 0
    try:
        for cells in reader:
            record += 1
            start, line = line + 1, reader.line_num
            # a row is blank when every field is: looked at only when its first field is blank
            blank = (not cells or not cells[0] or cells[0].isspace()) and _blank(cells)
            if headers is None:
                if blank:
                    continue                # blank lines (or an empty first row) before the header
                headers = [c.strip() for c in cells]
                continue
            if blank:
                continue
            if len(cells) != len(headers):
                wrong.append(record)
                unparsed.append((record, cells))
                if len(wrong) == 1:
                    first_wrong = (record, start, len(cells))
                continue
            rows.append((record, cells))
    except csv.Error:
        lines = [(i, [ln]) for i, ln in enumerate(text.splitlines(), 1)]
        return RawTable(name, source, headers or [], [], unparsed=lines, text=True), [Finding(
            "structure.csv_quote", ERROR, table, None,
            f"{source}: a quote opened in row {record + 1} (line {line + 1}) is not closed "
            "properly: a quoted value must end with a quote followed by the delimiter or the end "
            "of the line. Nothing of the file was loaded, so no row could swallow the next. "
            "Check the quotes around that row, or export the file again.", (record + 1,), 1)]
    if headers is None:
        return RawTable(name, source, [], [], empty=True, text=True), []
    findings = []
    if wrong:
        r, ln, n = first_wrong
        findings.append(Finding(
            "structure.csv_fields", ERROR, table, None,
            f"{source}: {len(wrong)} row(s) have more or fewer fields than the header's "
            f"{len(headers)}; the first is row {r} (line {ln}), with {n}. A value holding the "
            f"delimiter '{delimiter}' must be quoted. Correct the rows listed and re-send.",
            tuple(wrong), len(wrong)))
    return RawTable(name, source, headers, rows, unparsed=unparsed, text=True), findings


# ---------------------------------------------------------------- XLSX

def read_xlsx(path: Path) -> tuple[dict[str, RawTable], list[Finding]]:
    """Every sheet, every row: the stored sheet dimension (often stale in files other tools
    wrote) is reset, so rows past it are read as Excel shows them. A workbook that cannot be
    read whole is rejected whole: no sheet of it is loaded."""
    from openpyxl import load_workbook  # imported here: keeps code-location load light

    def unreadable(what: str) -> tuple[dict, list[Finding]]:
        return {}, [Finding("structure.unreadable", ERROR, None, None,
                            f"The workbook {what}. Open it in Excel or LibreOffice, save it again as "
                            ".xlsx (or export CSV files) and re-send.", (), 1)]

    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return unreadable("is an old Excel 97-2003 (.xls) file or a password-protected workbook, "
                          "not an .xlsx workbook")
    if not head.startswith(b"PK"):
        return unreadable("is not an .xlsx file (it is not a zip package: perhaps a CSV or text "
                          "file renamed to .xlsx)")
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - whatever a damaged package raises, it is rejected
        return unreadable(f"cannot be opened ({type(exc).__name__}: a damaged or unfinished file)")
    tables: dict[str, RawTable] = {}
    findings: list[Finding] = []
    try:
        for ws in wb.worksheets:
            title = ws.title or ""
            pos = wb.sheetnames.index(title) + 1 if title in wb.sheetnames else 0
            where = f"the {ordinal(pos)} sheet of the workbook"
            pii = _name_findings(where, [title])
            if pii:
                findings += pii
                continue
            key = table_key(title)
            name = key if key in contract.TABLES else ""
            source = f"sheet {name}" if name else where
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()       # read every row, whatever the stored dimension says
            headers: list[str] | None = None
            rows: list[tuple[int, list]] = []
            width = 0
            for r, values in enumerate(ws.iter_rows(values_only=True), 1):
                values = list(values)
                while values and (values[-1] is None or str(values[-1]).strip() == ""):
                    values.pop()            # formatted but empty cells at the end of a row
                if headers is None:
                    if values:
                        headers = ["" if v is None else str(v).strip() for v in values]
                    continue
                if not values:
                    continue
                width = max(width, len(values))
                rows.append((r, values))
            if headers is None:
                raw = RawTable(name, source, [], [], empty=True)
            else:
                headers += [""] * (width - len(headers))   # cells right of the header: no header
                raw = RawTable(name, source, headers, rows)
            if name in tables:
                findings.append(_twice(name, where, "sheet"))
                continue
            tables[name or f"?sheet{pos}"] = raw
        for title in wb.sheetnames:     # chart sheets hold no table, but their names are scanned
            if title in {ws.title for ws in wb.worksheets}:
                continue
            pos = wb.sheetnames.index(title) + 1
            where = f"the {ordinal(pos)} sheet of the workbook"
            pii = _name_findings(where, [title])
            findings += pii or [Finding("structure.unknown_table", WARNING, None, None,
                                        f"{where.capitalize()} is a chart sheet, not a table, and was "
                                        "ignored.", (), 1)]
        if not wb.worksheets:
            findings.append(Finding("structure.unreadable", ERROR, None, None,
                                    "The workbook has no worksheet.", (), 1))
    except Exception as exc:  # noqa: BLE001 - a damaged sheet inside a valid package
        return unreadable(f"is damaged: a sheet cannot be read ({type(exc).__name__})")
    finally:
        wb.close()
    return tables, findings


# ---------------------------------------------------------------- cells

def cell_text(v) -> str:
    """A cell's text as the checks read it (headers, privacy): trimmed, a whole float without
    its '.0', a date as YYYY-MM-DD. Typing is done in DuckDB (ingest/cells.py)."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v).strip()


# ---------------------------------------------------------------- the delivery

# Entries of a delivery folder that an operating system or a spreadsheet leaves behind: noted
# in a warning and never read. Everything else that is not a table's .csv file is named in a
# finding too (docs/validation-rules.md, "What is read").
_SYSTEM_FOLDERS = {"__macosx"}
_SYSTEM_FILES = {"thumbs.db", "desktop.ini"}


def _is_system_file(name: str) -> bool:
    low = name.lower()
    return low.startswith((".", "~$")) or low in _SYSTEM_FILES


def _extension(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,6}", suffix) else ""


def _twice(name: str, where: str, kind: str) -> Finding:
    return Finding("structure.duplicate_table", ERROR, name, None,
                   f"Table {name} is given twice: {where} and an earlier {kind} are both named as "
                   f"it (letter case and spaces are ignored). Keep one {kind} per table and re-send.",
                   (), 1)


def _name_findings(where: str, names: list[str]) -> list[Finding]:
    """A privacy finding for the first name that holds personal data (never the name itself)."""
    for n in names:
        rule = privacy.name_hit(n)
        if rule:
            return [Finding("privacy.pii_name", ERROR, None, None,
                            f"The name of {where} holds {privacy.what(rule)}. Names of files, "
                            "sheets and folders must not hold personal data: rename it and "
                            "re-send.", (), 1)]
    return []


def read_folder(path: Path) -> tuple[dict[str, RawTable], str, list[Finding]]:
    tables: dict[str, RawTable] = {}
    findings: list[Finding] = []
    encodings = set()
    for pos, f in enumerate(sorted(path.iterdir(), key=lambda p: p.name), 1):
        where = f"the {ordinal(pos)} entry of the folder (sorted by name)"
        pii = _name_findings(where, [f.name])
        if pii:
            findings += pii
            continue
        if f.is_symlink():
            findings.append(Finding("structure.unreadable", ERROR, None, None,
                                    f"{where.capitalize()} is a link, not a file: links are never "
                                    "followed.", (), 1))
            continue
        if f.is_dir():
            inner = sorted(p.name for p in f.rglob("*"))
            findings += _name_findings(f"an entry inside {where}", inner)
            if f.name.lower() in _SYSTEM_FOLDERS or f.name.startswith("."):
                findings.append(Finding("structure.ignored_entry", WARNING, None, None,
                                        f"{where.capitalize()} is a system folder (left by an "
                                        "archive program or the operating system) and was ignored.",
                                        (), 1))
            else:
                findings.append(Finding("structure.subfolder", ERROR, None, None,
                                        f"{where.capitalize()} is a subfolder ({len(inner)} entries "
                                        "inside). Files inside subfolders are not read, so the "
                                        "delivery could be incomplete: put every table's .csv file "
                                        "directly in the delivery folder and re-send.", (), 1))
            continue
        if not f.is_file():
            findings.append(Finding("structure.unreadable", ERROR, None, None,
                                    f"{where.capitalize()} is not a regular file and was not read.",
                                    (), 1))
            continue
        if _is_system_file(f.name):
            findings.append(Finding("structure.ignored_entry", WARNING, None, None,
                                    f"{where.capitalize()} is a hidden, lock or system file (its "
                                    "name starts with '.' or '~$', or is Thumbs.db / desktop.ini) "
                                    "and was ignored.", (), 1))
            continue
        key = table_key(f.stem)
        name = key if key in contract.TABLES else ""
        ext = _extension(f.name)
        if ext != ".csv":
            if name:
                findings.append(Finding("structure.file_type", ERROR, name, None,
                                        f"{where.capitalize()} is named as table {name} but is not a "
                                        f".csv file ({ext or 'no extension'}). A delivery folder holds "
                                        "CSV files only (or send one .xlsx workbook instead of the "
                                        "folder). Save it as 'CSV UTF-8' and re-send.", (), 1))
            else:
                findings.append(Finding("structure.unknown_table", WARNING, None, None,
                                        f"{where.capitalize()} is not a .csv file "
                                        f"({ext or 'no extension'}) and was ignored.", (), 1))
            continue
        source = f"{name}.csv" if name else where
        try:
            data = f.read_bytes()
        except OSError as exc:
            findings.append(Finding("structure.unreadable", ERROR, name or None, None,
                                    f"{source} cannot be read ({exc.strerror}).", (), 1))
            continue
        text, enc, fs = decode(data, source.capitalize() if not name else source, name or None)
        if text is not None:
            encodings.add(enc)
            raw, fs = parse_csv(text, name, source)
        else:
            raw = None
        if not name:
            # Not a table: it is ignored, but still scanned for personal data (by line when it
            # cannot be parsed). Its own problems do not reject the delivery.
            fs = [Finding(x.rule, WARNING, None, None, x.message + " (The file is ignored.)",
                          x.rows, x.count) for x in fs]
            if raw is None or any(x.rule.startswith("structure.csv") for x in fs):
                lines = (data.decode("utf-8", "replace") if raw is None else text).splitlines()
                findings += privacy.scan_cells(None, source, [], ((i, [ln]) for i, ln in
                                                                  enumerate(lines, 1)))
                raw = None
        findings += fs
        if raw is None:
            continue
        if name and name in tables:
            findings.append(_twice(name, where, "file"))
            continue
        tables[name or f"?file{pos}"] = raw
    form = "csv-cp1257" if "cp1257" in encodings else "csv-utf8"
    return tables, form, findings


def read_raw(path: Path) -> tuple[dict[str, RawTable], str, list[Finding]]:
    """Read the files of a delivery (folder of CSVs or .xlsx) into raw tables."""
    if path.is_symlink():   # intake never queues one; links are never followed
        return {}, "unknown", [Finding("structure.unreadable", ERROR, None, None,
                                       "The delivery is a link, not a file: links are never followed.",
                                       (), 1)]
    if path.is_dir():
        return read_folder(path)
    if path.suffix.lower() == ".xlsx":
        tables, findings = read_xlsx(path)
        return tables, "xlsx", findings
    return {}, "unknown", [Finding("structure.unreadable", ERROR, None, None,
                                   "The delivery is neither a folder of CSV files nor an .xlsx "
                                   "workbook.", (), 1)]


def check_structure(raw: dict[str, RawTable]) -> list[Finding]:
    findings: list[Finding] = []
    present = {t.name for t in raw.values() if t.name}
    for name in contract.REQUIRED_TABLES:
        if name not in present:
            findings.append(Finding("structure.missing_table", ERROR, name, None,
                                    f"Required table {name} is missing (a header row alone is a valid "
                                    "empty table).", (), 1))
    for t in raw.values():
        if not t.name:
            findings.append(Finding("structure.unknown_table", WARNING, None, None,
                                    f"{t.source.capitalize()} is not named as a table of the export "
                                    "contract and was ignored.", (), 1))
            continue
        name = t.name
        if t.empty:
            findings.append(Finding("structure.empty_table", WARNING, name, None,
                                    f"{t.source} is empty (no header, no rows): read as table {name} "
                                    "with no rows.", (), 1))
            continue
        table = contract.TABLES[name]
        seen: dict[str, int] = {}
        for i, h in enumerate(t.headers):
            low = h.lower()
            if not low:
                if any(i < len(c) and cell_text(c[i]) for _, c in t.rows):
                    findings.append(Finding("structure.unknown_column", WARNING, name, f"column {i + 1}",
                                            f"Column {i + 1} of {t.source} has no header and was ignored.",
                                            (1,), 1))
                continue
            if low in seen:
                if low in table.column_names:
                    col, what = low, f"Column '{low}' appears twice in {t.source}."
                else:   # a header the contract does not name is not repeated (it may be anything)
                    col, what = f"column {i + 1}", (f"Column {i + 1} of {t.source} has the same "
                                                    "header as an earlier column.")
                findings.append(Finding("structure.duplicate_column", ERROR, name, col, what, (1,), 1))
            seen[low] = i
            if low not in table.column_names:
                findings.append(Finding("structure.unknown_column", WARNING, name, f"column {i + 1}",
                                        f"Column {i + 1} of {t.source} is not in the contract and was "
                                        "ignored.", (1,), 1))
        for col in table.required_columns:
            if col not in seen:
                findings.append(Finding("structure.missing_column", ERROR, name, col,
                                        f"Required column '{col}' is missing from {t.source}.", (1,), 1))
    return findings


def privacy_gate(raw: dict[str, RawTable]) -> list[Finding]:
    """Every header and every cell of every file and sheet, contract or not."""
    findings: list[Finding] = []
    for t in raw.values():
        findings += privacy.scan_headers(t.name or None, t.source, t.headers)
        columns = contract.TABLES[t.name].column_names if t.name else ()
        # a hit names its column by header only when it is a contract column
        headers = [h.lower() if h.lower() in columns else "" for h in t.headers]
        if _any_hit(t.rows, t.text):
            findings += privacy.scan_cells(t.name or None, t.source, headers,
                                           ((r, [cell_text(c) for c in cells]) for r, cells in t.rows))
        if t.unparsed and _any_hit(t.unparsed, t.text):   # by position only: fields not lined up with the header
            findings += privacy.scan_cells(t.name or None, t.source, [],
                                           ((r, [cell_text(c) for c in cells]) for r, cells in t.unparsed))
    return findings


def _any_hit(rows, text: bool) -> bool:
    """Whether any cell of these rows breaks a privacy rule: each distinct value (by type and
    value: 1, 1.0 and True are told apart) checked once. Only then are the rows scanned one by
    one, for the row numbers."""
    cells = chain.from_iterable(map(itemgetter(1), rows))
    try:
        if text:                    # CSV: every cell is a str, the common case
            return any(privacy.cell_hit(v.strip()) for v in set(cells))
        cells = list(cells)
        return any(privacy.cell_hit(cell_text(v)) for _, v in set(zip(map(type, cells), cells)))
    except TypeError:       # an unhashable cell value: scan row by row
        return True


def read_raw_delivery(path: Path) -> Delivery:
    """Read one delivery's files or sheets, check its structure and run the privacy gate: its
    contract tables as raw cells (`Delivery.raw`), not yet typed. A delivery the privacy gate
    stops is not looked at further."""
    raw, form, findings = read_raw(path)
    out = Delivery(form=form)
    findings += privacy_gate(raw)
    if any(f.severity == ERROR for f in findings):
        out.findings = findings
        return out
    findings += check_structure(raw)
    by_name = {t.name: t for t in raw.values() if t.name}
    for name in contract.TABLES:
        t = by_name.get(name)
        if t is not None and not t.empty:
            out.raw[name] = t
        out.row_counts[name] = len(t.rows) if t is not None and not t.empty else 0
    out.findings = findings
    out.typed = False
    return out


def read_raw_safely(path: Path) -> Delivery:
    """`read_raw_delivery`, where anything that goes wrong reading one delivery rejects that
    delivery (rule structure.unreadable) instead of failing the run that reads it with others."""
    try:
        return read_raw_delivery(path)
    except Exception as exc:  # noqa: BLE001 - one delivery never breaks the refresh
        return unreadable(exc)


def unreadable(exc: BaseException) -> Delivery:
    return Delivery(form="unknown", findings=[Finding(
        "structure.unreadable", ERROR, None, None,
        f"The delivery could not be read: reading it failed unexpectedly ({type(exc).__name__}). "
        "It was rejected so that the other deliveries could load. Export it again and re-send; "
        "if it happens again, tell the pipeline administrator.", (), 1)])


def read_delivery(path: Path, centre: str, key: bytes) -> Delivery:
    """Read, check structure and privacy, type and pseudonymise one delivery: a chunk of one
    (ingest/cells.py), typed in an in-memory DuckDB, with its tables as pandas frames."""
    import duckdb

    from sos_pipeline.ingest import cells

    out = read_raw_delivery(path)
    if out.typed is None:           # stopped by the privacy gate
        return out
    con = duckdb.connect()
    try:
        out.findings += cells.type_chunk(con, [(0, centre, out.raw, out.form == "xlsx")], key)[0]
        out.tables = {name: cells.frame(con, table, 0) for name, table in contract.TABLES.items()}
    finally:
        con.close()
    out.typed = True
    return out
