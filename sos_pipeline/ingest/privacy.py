"""The privacy gate (exports.md, "Privacy"): header and cell scans run before anything is written.

A hit names table, row and column, never the value.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata

from sos_pipeline.findings import ERROR, Finding

# Header words that look like personal data, Latvian and English, compared after
# folding case and diacritics and turning separators into spaces.
_PII_HEADER_WORDS = {
    "vards", "uzvards", "personas kods", "pers kods", "pk", "adrese", "dzivesvieta",
    "talrunis", "talr", "telefons", "tel", "mobilais", "e pasts", "epasts", "e mail", "email",
    "mail", "name", "first name", "last name", "surname", "full name", "given name",
    "family name", "personal code", "person code", "personal id", "id code", "address",
    "street", "phone", "telephone", "mobile", "birth date", "date of birth", "dzimsanas datums",
    "ssn", "passport", "pase",
}
# Words that make a header personal wherever they appear in it (e.g. "mother_name").
_PII_HEADER_PARTS = ("vards", "uzvards", "personas kods", "adrese", "talrunis", "e pasts",
                     "email", "e mail", "name", "surname", "address", "phone", "personal code")


def fold(text: str) -> str:
    """Lower-case, strip diacritics, separators to single spaces: 'E-pasts' -> 'e pasts'."""
    text = unicodedata.normalize("NFKD", text.strip().lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.split(r"[\s_\-.:/]+", text)).strip()


@functools.lru_cache(maxsize=4096)      # the same headers come in every delivery
def is_pii_header(header: str) -> bool:
    f = fold(header)
    if f in _PII_HEADER_WORDS:
        return True
    padded = f" {f} "
    return any(f" {part} " in padded for part in _PII_HEADER_PARTS)


# Latvian personal code: DDMMYY-CNNNN (hyphen optional), a real date, C the century digit 0-2.
_OLD_CODE = re.compile(r"(?<![0-9])([0-3][0-9])([01][0-9])([0-9]{2})-?([0-2])([0-9]{4})(?![0-9])")
# The newer code: 32NNNN-NNNNN (hyphen optional).
_NEW_CODE = re.compile(r"(?<![0-9])32[0-9]{4}-?[0-9]{5}(?![0-9])")
# Letters of any alphabet (\w): an address may hold them (janis.ozoliņš@example.lv).
_EMAIL = re.compile(r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,}")
# Latvian phone: 8 digits starting 2 (mobile) or 6 (fixed), optional +371/00371 (or 371: what a
# spreadsheet keeps of "+371 29123456" typed into a number cell), written together or grouped by
# spaces (2912 3456, 29 123 456).
_PHONE = re.compile(
    r"(?<![\w\-./])(?:(?:\+|00)?\s?371[\s\-]?)?[26](?:[0-9]{7}|[0-9]{3} [0-9]{4}|[0-9] [0-9]{3} [0-9]{3})(?![\w\-/]|\.[0-9])")


def _real_date(dd: str, mm: str, yy: str, century: str) -> bool:
    year = {"0": 1800, "1": 1900, "2": 2000}[century] + int(yy)
    try:
        dt.date(year, int(mm), int(dd))
    except ValueError:
        return False
    return True


# What a spreadsheet keeps of a personal code typed without its hyphen into a number cell: the
# leading zero of the day goes (01019011234 -> 1019011234).
_CODE_AS_NUMBER = re.compile(r"^([1-9])([01][0-9])([0-9]{2})([0-2])([0-9]{4})(?:\.0+)?$")


@functools.lru_cache(maxsize=1 << 16)
def cell_hit(text: str) -> str | None:
    """The privacy rule a cell's text breaks, or None. (Cached: a value repeats down a column.)"""
    if not text or len(text) < 6:
        return None
    for m in _OLD_CODE.finditer(text):
        if _real_date(*m.groups()[:4]):
            return "privacy.personal_code"
    m = _CODE_AS_NUMBER.match(text)
    if m and _real_date("0" + m[1], m[2], m[3], m[4]):
        return "privacy.personal_code"
    if _NEW_CODE.search(text):
        return "privacy.personal_code"
    if "@" in text and _EMAIL.search(text):
        return "privacy.email"
    if _PHONE.search(text):
        return "privacy.phone"
    return None


_WHAT = {"privacy.personal_code": "a Latvian personal code",
         "privacy.email": "an e-mail address", "privacy.phone": "a Latvian phone number"}


def header_hit(header: str) -> bool:
    """A header that names personal data (the word list) or holds it (the cell detectors:
    a column headed with an e-mail address, a phone number or a personal code)."""
    return bool(header) and (is_pii_header(header) or cell_hit(header) is not None)


def name_hit(name: str) -> str | None:
    """The privacy rule a name (of a delivery, file, sheet or folder) breaks, or None. Names
    are scanned with the cell detectors; the word list is for headers only."""
    return cell_hit(name)


def what(rule: str) -> str:
    return _WHAT[rule]


def scan_headers(table: str | None, label: str, headers: list[str]) -> list[Finding]:
    """`table`: the contract table (or None); `label`: how messages name the file or sheet."""
    return [Finding("privacy.pii_column", ERROR, table, f"column {i + 1}",
                    f"Column {i + 1} of {label} has a header that looks like or holds personal data "
                    "(name, personal code, address, phone or e-mail). Remove the column and send "
                    "the delivery again.", (1,), 1)
            for i, h in enumerate(headers) if header_hit(h)]


def scan_cells(table: str | None, label: str, headers: list[str], rows) -> list[Finding]:
    """rows: iterable of (source_row, [cell text, ...]). `headers`: the name each column may be
    called by in a finding (a contract column's name), or "" to call it by its number: a header
    from outside the contract is never repeated."""
    hits: dict[tuple[str, str], list[int]] = {}
    for source_row, cells in rows:
        for i, cell in enumerate(cells):
            rule = cell_hit(cell)
            if rule:
                col = headers[i] if i < len(headers) and headers[i] else f"column {i + 1}"
                hits.setdefault((rule, col), []).append(source_row)
    return [Finding(rule, ERROR, table, col,
                    f"{len(rs)} cell(s) of column '{col}' in {label} hold {_WHAT[rule]}. "
                    "Personal data must never be sent: remove it and send the delivery again.",
                    tuple(rs), len(rs))
            for (rule, col), rs in hits.items()]
