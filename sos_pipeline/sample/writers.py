"""Write one delivery in each of the forms centres really send (exports.md, "Delivery").

`tables` maps a table name to its rows; a row maps column name to a Python value
(str, int, float, datetime.date or None). The header is made of the contract's
column names present in the rows' keys, in the contract's order (columns the
contract does not name, e.g. a deliberately bad `Vārds`, come after, in the order
first seen). A table given with zero rows gets a header-only file when it is
required and is left out when it is optional; a table not given is not written.

Every writer is deterministic byte for byte: the same tables give the same bytes.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from sos_pipeline.contract import TABLES

Rows = Sequence[Mapping[str, Any]]
Tables = Mapping[str, Rows]

# Form names used by the generator's summary and by write_delivery().
CSV_UTF8, CSV_CP1257, XLSX = "csv-utf8", "csv-cp1257", "xlsx"
FORMS = (CSV_UTF8, CSV_CP1257, XLSX)

_NAME_MONTH = re.compile(r"(\d{4})-(\d{2})$")
_FALLBACK_STAMP = dt.datetime(2000, 1, 1, 9, 0, 0)


# ---------------------------------------------------------------- tables -> grid

def table_order(tables: Tables) -> list[str]:
    """Tables in the contract's order, then any others in the order given."""
    known = [t for t in TABLES if t in tables]
    return known + [t for t in tables if t not in TABLES]


def columns_for(table: str, rows: Rows) -> list[str]:
    """Header of one table: contract columns present in the rows, then extra ones."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    contract = TABLES[table].column_names if table in TABLES else ()
    if not rows:
        return list(contract)
    return [c for c in contract if c in seen] + [k for k in seen if k not in contract]


def _writable(tables: Tables) -> list[tuple[str, list[str], Rows]]:
    out = []
    for name in table_order(tables):
        rows = tables[name]
        if not rows and not (name in TABLES and TABLES[name].required):
            continue                      # optional and empty: absent means none
        out.append((name, columns_for(name, rows), rows))
    return out


def _number_text(value: int | float, decimal: str) -> str:
    if isinstance(value, bool):
        raise TypeError("booleans are not a contract value")
    if isinstance(value, int):
        return str(value)
    if value == int(value):
        return str(int(value))
    return repr(value).replace(".", decimal)


def cell_text(value: Any, date_format: str = "%Y-%m-%d", decimal: str = ".") -> str:
    """One value as CSV text."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        raise TypeError("datetime values are not used in deliveries; pass a date")
    if isinstance(value, dt.date):
        return value.strftime(date_format)
    if isinstance(value, (int, float)):
        return _number_text(value, decimal)
    return str(value)


# ---------------------------------------------------------------- CSV

def _fresh_dir(path: Path) -> Path:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    path.mkdir(parents=True)
    return path


def _write_csv_folder(inbox: Path, name: str, tables: Tables, *, encoding: str,
                      delimiter: str, lineterminator: str, date_format: str,
                      decimal: str) -> Path:
    folder = _fresh_dir(Path(inbox) / name)
    for table, columns, rows in _writable(tables):
        grid = [[cell_text(row.get(c), date_format, decimal) for c in columns] for row in rows]
        # csv quotes fields holding the delimiter, a quote or '\n'; a bare '\r' is only
        # quoted when it is part of the line terminator, so quote everything then.
        stray_cr = "\r" not in lineterminator and any("\r" in v for r in grid for v in r)
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, delimiter=delimiter, lineterminator=lineterminator,
                            quoting=csv.QUOTE_ALL if stray_cr else csv.QUOTE_MINIMAL)
        writer.writerow(columns)
        writer.writerows(grid)
        (folder / f"{table}.csv").write_bytes(buf.getvalue().encode(encoding))
    return folder


def write_csv_utf8(inbox: Path, name: str, tables: Tables, bom: bool = False,
                   delimiter: str = ",", lineterminator: str = "\n") -> Path:
    """Folder `<inbox>/<name>/`, one UTF-8 `<table>.csv` per table; ISO dates, decimal point."""
    return _write_csv_folder(inbox, name, tables, encoding="utf-8-sig" if bom else "utf-8",
                             delimiter=delimiter, lineterminator=lineterminator,
                             date_format="%Y-%m-%d", decimal=".")


def write_csv_cp1257(inbox: Path, name: str, tables: Tables) -> Path:
    """Folder as Latvian Excel saves it: Windows-1257, `;`, DD.MM.YYYY, decimal comma, CRLF."""
    return _write_csv_folder(inbox, name, tables, encoding="cp1257", delimiter=";",
                             lineterminator="\r\n", date_format="%d.%m.%Y", decimal=",")


# ---------------------------------------------------------------- XLSX

def delivery_stamp(name: str) -> dt.datetime:
    """Fixed 'saved at' time for a delivery: 09:00 on the 3rd of the following month."""
    m = _NAME_MONTH.search(name)
    if not m or not 1 <= int(m.group(2)) <= 12:
        return _FALLBACK_STAMP
    year, month = int(m.group(1)), int(m.group(2))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return dt.datetime(year, month, 3, 9, 0, 0)


def _repack(raw: bytes, stamp: dt.datetime) -> bytes:
    """Rewrite a zip with every entry dated `stamp` (zipfile dates entries 'now')."""
    when = (max(stamp.year, 1980),) + tuple(stamp.timetuple()[1:6])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=when)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def workbook_bytes(tables: Tables, text_dates: bool = False,
                   stamp: dt.datetime = _FALLBACK_STAMP) -> bytes:
    """The workbook as bytes: one sheet per table, header row, typed cells."""
    wb = Workbook()
    wb.remove(wb.active)
    for table, columns, rows in _writable(tables):
        ws = wb.create_sheet(title=table)
        ws.append(columns)
        for row in rows:
            cells = []
            for c in columns:
                v = row.get(c)
                if isinstance(v, dt.datetime):
                    raise TypeError("datetime values are not used in deliveries; pass a date")
                if isinstance(v, dt.date) and text_dates:
                    v = v.strftime("%d.%m.%Y")
                cells.append(v)
            ws.append(cells)
    wb.properties.creator = "SOS BCA sample data"
    wb.properties.lastModifiedBy = None
    wb.properties.created = stamp
    wb.properties.modified = stamp
    buf = io.BytesIO()
    # Not wb.save(): save_workbook() overwrites `modified` with the current time.
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()
    return _repack(buf.getvalue(), stamp)


def write_xlsx(inbox: Path, name: str, tables: Tables, text_dates: bool = False,
               stamp: dt.datetime | None = None) -> Path:
    """Workbook `<inbox>/<name>.xlsx`; dates as Excel dates, or DD.MM.YYYY text when text_dates.

    `stamp` (document created/modified and zip entry times) defaults to a time
    derived from the delivery month in the name, so re-writing gives the same bytes.
    """
    path = Path(inbox) / f"{name}.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(workbook_bytes(tables, text_dates, stamp or delivery_stamp(name)))
    return path


# ---------------------------------------------------------------- dispatch

def write_delivery(inbox: Path, name: str, tables: Tables, form: str, **options) -> Path:
    """Write with the writer of `form` (CSV_UTF8, CSV_CP1257 or XLSX) and its options."""
    if form == CSV_UTF8:
        return write_csv_utf8(inbox, name, tables, **options)
    if form == CSV_CP1257:
        return write_csv_cp1257(inbox, name, tables, **options)
    if form == XLSX:
        return write_xlsx(inbox, name, tables, **options)
    raise ValueError(f"unknown form {form!r}; known: {', '.join(FORMS)}")


def delivery_files(path: Path) -> Iterable[Path]:
    """The files making up a written delivery (the workbook, or the folder's CSVs)."""
    path = Path(path)
    return sorted(path.iterdir()) if path.is_dir() else [path]
