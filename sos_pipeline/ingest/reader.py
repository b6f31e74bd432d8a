"""Read one delivery, in whatever dialect the centre's spreadsheet produced (exports.md).

`read_delivery` returns typed, pseudonymised pandas frames (one per contract table,
with `_row`, the row number the coordinator sees in the file) and the findings of
the structure and privacy checks. Refs are replaced by pseudonyms here, in memory,
before anything is written anywhere.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sos_pipeline import contract
from sos_pipeline.findings import ERROR, WARNING, Finding
from sos_pipeline.ingest import privacy
from sos_pipeline.ingest.intake import defuse, shown_name
from sos_pipeline.ingest.pseudonym import pseudonym

csv.field_size_limit(1 << 24)


@dataclass
class RawTable:
    name: str
    source: str                       # file name (or workbook!sheet) for messages
    headers: list[str]                # as written, trimmed
    rows: list[tuple[int, list]]      # (source row number, cells)


@dataclass
class Delivery:
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    form: str = ""                    # csv-utf8, csv-cp1257, xlsx
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)


# ---------------------------------------------------------------- decoding and CSV

def decode(data: bytes, source: str, table: str) -> tuple[str | None, str, list[Finding]]:
    """UTF-8 (with or without BOM) or Windows-1257. Never latin-1: it corrupts ā č ē ģ ..."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf8", []
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1257"), "cp1257", []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, "", [Finding(
            "structure.undecodable", ERROR, table, None,
            f"{source} is neither UTF-8 nor Windows-1257 text (first bad byte at line {line}). "
            "Save it again from the spreadsheet as 'CSV UTF-8'.", (line,), 1)]


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return ";" if first.count(";") > first.count(",") else ","


def parse_csv(text: str, name: str, source: str) -> RawTable:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows: list[tuple[int, list]] = []
    headers: list[str] = []
    for cells in reader:
        if not headers:
            headers = [c.strip() for c in cells]
            continue
        if not any(c.strip() for c in cells):
            continue
        rows.append((len(rows) + 2, cells))  # spreadsheet row numbers: header is row 1
    return RawTable(name, source, headers, rows)


# ---------------------------------------------------------------- XLSX

def read_xlsx(path: Path) -> tuple[dict[str, RawTable], list[Finding]]:
    from openpyxl import load_workbook  # imported here: keeps code-location load light

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        return {}, [Finding("structure.unreadable", ERROR, None, None,
                            f"{path.name} cannot be opened as an Excel workbook ({type(exc).__name__}). "
                            "Save it again as .xlsx, or send CSV files.", (), 1)]
    tables: dict[str, RawTable] = {}
    try:
        for ws in wb.worksheets:
            name = shown_name(ws.title.strip().lower())   # sheet names appear in findings
            headers: list[str] = []
            rows: list[tuple[int, list]] = []
            for r, values in enumerate(ws.iter_rows(values_only=True), 1):
                if not headers:
                    if values and any(v is not None and str(v).strip() for v in values):
                        headers = ["" if v is None else str(v).strip() for v in values]
                    continue
                cells = list(values)[: len(headers)]
                if not any(v is not None and str(v).strip() for v in cells):
                    continue
                rows.append((r, cells))
            if headers or name in contract.TABLES:
                tables[name] = RawTable(name, f"{path.name}, sheet {shown_name(ws.title)}", headers, rows)
    except Exception as exc:  # a corrupt sheet inside a valid zip
        return {}, [Finding("structure.unreadable", ERROR, None, None,
                            f"{path.name} could not be read ({type(exc).__name__}). Save it again as .xlsx.",
                            (), 1)]
    finally:
        wb.close()
    return tables, []


# ---------------------------------------------------------------- typing

_DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})\.?$")
_YMD = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00)?)?$")


def cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v).strip()


def to_date(v):
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    s = cell_text(v)
    m = _YMD.match(s)
    if m:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    m = _DMY.match(s)
    if m:
        return dt.date(int(m[3]), int(m[2]), int(m[1]))
    raise ValueError


def to_number(v) -> float:
    if isinstance(v, bool):
        raise ValueError
    if isinstance(v, (int, float)):
        return float(v)
    s = cell_text(v).replace("\u00a0", "").replace(" ", "")
    if re.fullmatch(r"-?\d+(,\d+)?", s):
        s = s.replace(",", ".")
    if not re.fullmatch(r"-?\d+(\.\d+)?", s):
        raise ValueError
    return float(s)


def to_int(v) -> int:
    x = to_number(v)
    if not x.is_integer():
        raise ValueError
    return int(x)


_KIND_LABEL = {contract.DATE: "a date (YYYY-MM-DD or DD.MM.YYYY)", contract.INT: "a whole number",
               contract.YEAR: "a 4-digit year", contract.NUMBER: "a number"}


def _type_table(raw: RawTable, table: contract.Table, centre: str, key: bytes,
                findings: list[Finding]) -> pd.DataFrame:
    index = {h.lower(): i for i, h in enumerate(raw.headers) if h}
    data: dict[str, list] = {"_row": [r for r, _ in raw.rows]}
    for col in table.columns:
        i = index.get(col.name)
        values: list = []
        bad: list[int] = []
        for source_row, cells in raw.rows:
            v = cells[i] if i is not None and i < len(cells) else None
            text = cell_text(v)
            if text == "":
                values.append(None)
                continue
            try:
                if col.kind == contract.DATE:
                    values.append(to_date(v))
                elif col.kind in (contract.INT, contract.YEAR):
                    values.append(to_int(v))
                elif col.kind == contract.NUMBER:
                    values.append(to_number(v))
                elif col.kind == contract.REF:
                    values.append(pseudonym(key, centre, text))
                else:   # free text and codes: no control characters, never a formula
                    values.append(defuse(text))
            except (ValueError, OverflowError):
                values.append(None)
                bad.append(source_row)
        if bad:
            findings.append(Finding(
                "structure.value_format", ERROR, table.name, col.name,
                f"{len(bad)} value(s) in column '{col.name}' of {raw.source} cannot be read as "
                f"{_KIND_LABEL[col.kind]}.", tuple(bad), len(bad)))
        if col.kind == contract.DATE:
            data[col.name] = pd.to_datetime(pd.Series(values, dtype="object")).astype("datetime64[us]")
        elif col.kind in (contract.INT, contract.YEAR):
            data[col.name] = pd.array(values, dtype="Int64")
        elif col.kind == contract.NUMBER:
            data[col.name] = pd.array([float("nan") if x is None else x for x in values], dtype="float64")
        else:
            data[col.name] = pd.Series(values, dtype="object")
    return pd.DataFrame(data)


def empty_frame(table: contract.Table) -> pd.DataFrame:
    return _type_table(RawTable(table.name, table.name, list(table.column_names), []), table, "", b"", [])


# ---------------------------------------------------------------- the delivery

def read_raw(path: Path) -> tuple[dict[str, RawTable], str, list[Finding]]:
    """Read the files of a delivery (folder of CSVs or .xlsx) into raw tables."""
    if path.is_symlink():   # intake never queues one; links are never followed
        return {}, "unknown", [Finding("structure.unreadable", ERROR, None, None,
                                       f"{path.name} is a link, not a file: links are never followed.",
                                       (), 1)]
    if path.is_dir():
        tables: dict[str, RawTable] = {}
        findings: list[Finding] = []
        encodings = set()
        for f in sorted(path.iterdir()):
            if f.name.startswith("."):
                continue
            shown = shown_name(f.name)       # file names appear in findings
            name = shown_name(f.stem.strip().lower())
            if f.is_symlink():
                findings.append(Finding("structure.unreadable", ERROR, name, None,
                                        f"{shown} is a link, not a file: links are never followed.",
                                        (), 1))
                continue
            if not f.is_file():
                continue
            if f.suffix.lower() != ".csv":
                findings.append(Finding("structure.unknown_table", WARNING, None, None,
                                        f"{shown} is not a .csv file and was ignored.", (), 1))
                continue
            try:
                data = f.read_bytes()
            except OSError as exc:
                findings.append(Finding("structure.unreadable", ERROR, name, None,
                                        f"{shown} cannot be read ({exc.strerror}).", (), 1))
                continue
            text, enc, fs = decode(data, shown, name)
            findings += fs
            if text is None:
                continue
            encodings.add(enc)
            if name in tables:
                findings.append(Finding("structure.duplicate_table", ERROR, name, None,
                                        f"Table {name} is given twice (check file names).", (), 1))
            tables[name] = parse_csv(text, name, shown)
        form = "csv-cp1257" if "cp1257" in encodings else "csv-utf8"
        return tables, form, findings
    if path.suffix.lower() == ".xlsx":
        tables, findings = read_xlsx(path)
        return tables, "xlsx", findings
    return {}, "unknown", [Finding("structure.unreadable", ERROR, None, None,
                                   f"{path.name} is neither a folder of CSV files nor an .xlsx workbook.",
                                   (), 1)]


def check_structure(raw: dict[str, RawTable]) -> list[Finding]:
    findings: list[Finding] = []
    for name in contract.REQUIRED_TABLES:
        if name not in raw:
            findings.append(Finding("structure.missing_table", ERROR, name, None,
                                    f"Required table {name} is missing (a header row alone is a valid "
                                    "empty table).", (), 1))
    for name, t in raw.items():
        if name not in contract.TABLES:
            findings.append(Finding("structure.unknown_table", WARNING, name, None,
                                    f"{t.source} is not a table of the export contract and was ignored.",
                                    (), 1))
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
            if low not in table.column_names and not privacy.is_pii_header(h):
                findings.append(Finding("structure.unknown_column", WARNING, name, f"column {i + 1}",
                                        f"Column {i + 1} of {t.source} is not in the contract and was "
                                        "ignored.", (1,), 1))
        for col in table.required_columns:
            if col not in seen:
                findings.append(Finding("structure.missing_column", ERROR, name, col,
                                        f"Required column '{col}' is missing from {t.source}.", (1,), 1))
    return findings


def read_delivery(path: Path, centre: str, key: bytes) -> Delivery:
    """Read, check structure and privacy, type and pseudonymise one delivery."""
    raw, form, findings = read_raw(path)
    out = Delivery(form=form)
    # The privacy gate: every header and every cell of every sheet, contract or not.
    for name, t in raw.items():
        findings += privacy.scan_headers(name, t.headers)
        # a hit names its column by header: a header that is no plain name is named by number
        headers = [h if shown_name(h, 64) == h else "" for h in t.headers]
        findings += privacy.scan_cells(name, headers,
                                       ((r, [cell_text(c) for c in cells]) for r, cells in t.rows))
    if any(f.severity == ERROR for f in findings):
        out.findings = findings
        return out
    findings += check_structure(raw)
    for name, table in contract.TABLES.items():
        if name in raw:
            out.tables[name] = _type_table(raw[name], table, centre, key, findings)
        else:
            out.tables[name] = empty_frame(table)
        out.row_counts[name] = len(out.tables[name])
    out.findings = findings
    return out
