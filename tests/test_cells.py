"""Typing a chunk of deliveries in DuckDB (ingest/cells.py, sql/load/typing.sql).

The expected values are worked out by hand from the contract's rules (docs/validation-rules.md),
and pseudonyms with Python's own hmac module: never with the code under test.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import duckdb
import pandas as pd
import pytest

from sos_pipeline import contract
from sos_pipeline.ingest import cells
from sos_pipeline.ingest.reader import RawTable


def _hmac(key: bytes, centre: str, ref: str) -> str:
    return hmac.new(key, f"{centre}\x1f{ref}".encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _raw(table: str, headers: list[str], rows: list[list], first_row: int = 2) -> RawTable:
    return RawTable(table, f"{table}.csv", headers, [(first_row + i, r) for i, r in enumerate(rows)])


def _typed(con, table: str, item: int = 0) -> list[dict]:
    df = cells.frame(con, contract.TABLES[table], item)
    return [{k: (None if pd.isna(v) else v) for k, v in r.items()}
            for r in df.astype(object).to_dict("records")]


@pytest.mark.parametrize("key", [b"k", b"a key longer than the sixty-four bytes of one SHA-256 block, "
                                       b"so HMAC hashes it first", bytes(range(256))[:64], b"\xff" * 65])
def test_pseudonyms_are_hmac_sha256(key):
    refs = ["F-137", "Ģimene ā", "137", "x" * 300, "a;b,c\"d"]
    con = duckdb.connect()
    raws = {"families": _raw("families", ["family_ref", "enrolled_on", "territory", "territory_type",
                                          "target_group", "adults"],
                             [[r, "2020-01-01", "Bauska", "urban", "risk_family", "1"] for r in refs])}
    assert cells.type_chunk(con, [(0, "BAU", raws, False), (1, "VAL", raws, False)], key) == {0: [], 1: []}
    for item, centre in ((0, "BAU"), (1, "VAL")):
        got = [r["family_ref"] for r in _typed(con, "families", item)]
        assert got == [_hmac(key, centre, r) for r in refs]
    # the same case number at two centres: two families
    assert _typed(con, "families", 0)[0]["family_ref"] != _typed(con, "families", 1)[0]["family_ref"]


def test_values_and_what_went_wrong():
    """One column of each kind, cell by cell: the value, and the finding that names the rows."""
    headers = ["contact_id", "date", "family_ref", "child_ref", "service", "minutes", "mode",
               "staff_ref", "project"]
    rows = [
        # contact_id        date           family  child     service         minutes  mode      staff
        ["S-1",            "2020-03-05",   "F-1",  "",       "social_work",  "60",    "centre", "ST-1", ""],
        ["137.0",          "5.3.2020.",    "F-1",  "C-1",    "=cmd|x",       " 1 2 ", "centre", "ST-1", "P"],
        ["1,23457E+11",    "2020-02-30",   "F-1",  "",       "#N/A",         "12,5",  "centre", "ST-1", ""],
        ["S-4",            "2020-03-05 00:00", "F\n2", "",   "legal",        "2147483648", "centre", "ST-1", ""],
        ["S-5",            "0000-01-01",   "F-1",  "",       "-5",           "-7",    "ce\x01ntre", "ST-1", ""],
        ["S-6",            "2020-03-05T10:00", "F-1", "",    "+ 1",          "#VALUE!", "centre", "ST-1", ""],
    ]
    con = duckdb.connect()
    found = cells.type_chunk(con, [(3, "BAU", {"services": _raw("services", headers, rows)}, False)], b"k")[3]
    got = _typed(con, "services", 3)
    assert [r["_row"] for r in got] == [2, 3, 4, 5, 6, 7]
    assert [r["contact_id"] for r in got] == ["S-1", "137", None, "S-4", "S-5", "S-6"]
    assert [r["date"] for r in got] == [dt.datetime(2020, 3, 5), dt.datetime(2020, 3, 5), None,
                                        dt.datetime(2020, 3, 5), None, None]
    assert [r["family_ref"] for r in got] == [_hmac(b"k", "BAU", "F-1")] * 3 + [None] + [_hmac(b"k", "BAU", "F-1")] * 2
    assert [r["child_ref"] for r in got] == [None, _hmac(b"k", "BAU", "C-1"), None, None, None, None]
    assert [r["service"] for r in got] == ["social_work", "'=cmd|x", None, "legal", "-5", "'+ 1"]
    assert [r["minutes"] for r in got] == [60, 12, None, None, -7, None]
    assert [r["mode"] for r in got] == ["centre"] * 4 + ["ce\ufffdntre", "centre"]
    assert [r["project"] for r in got] == [None, "P", None, None, None, None]
    assert [(f.rule, f.severity, f.column, f.rows) for f in found] == [
        ("structure.id_scientific", "error", "contact_id", (4,)),
        ("structure.id_float", "warning", "contact_id", (3,)),
        ("structure.value_format", "error", "date", (4, 6, 7)),
        ("structure.value_format", "error", "family_ref", (5,)),
        ("structure.error_value", "error", "service", (4,)),
        ("structure.error_value", "error", "minutes", (7,)),
        ("structure.value_format", "error", "minutes", (4, 5)),
    ]
    assert found[2].message == ("3 value(s) in column 'date' of services.csv cannot be read as a date "
                                "(YYYY-MM-DD or DD.MM.YYYY).")
    assert all("F\n2" not in f.message and "2147483648" not in f.message for f in found)


def test_numbers_and_years():
    headers = ["training_id", "topic", "start_date", "end_date", "hours", "participants",
               "participant_type"]
    rows = [["T-1", "other", "01.02.2020", "2020-02-01", "1,5", "4", "volunteer_mentor"],
            ["T-2", "other", "2020-02-01", "2020-02-01", "1 000.25", "4.0", "other"],
            ["T-3", "other", "2020-02-01", "2020-02-01", "1e3", "4.5", "other"],
            ["T-4", "other", "2020-02-01", "2020-02-01", "1000000000000001", "-0", "other"]]
    con = duckdb.connect()
    found = cells.type_chunk(con, [(0, "BAU", {"trainings": _raw("trainings", headers, rows)}, False)], b"k")[0]
    got = _typed(con, "trainings")
    assert [r["hours"] for r in got] == [1.5, 1000.25, None, None]
    assert [r["participants"] for r in got] == [4, 4, None, 0]
    assert [(f.column, f.rows) for f in found] == [("hours", (4, 5)), ("participants", (4,))]


def test_workbook_cells():
    """What a workbook stores as numbers, dates and booleans is read as the centre meant it."""
    headers = ["child_ref", "family_ref", "birth_year", "sex", "disability"]
    rows = [[137.0, "F-1", 2015.0, "F", True],
            [1.5, "F-1", 2015, "M", None],
            [12345678901234567890.0, 7, dt.datetime(2015, 1, 1), "M", "no"],
            ["C-4", "F-1", "2015", "F", dt.datetime(2020, 1, 2, 10, 30)]]
    con = duckdb.connect()
    found = cells.type_chunk(con, [(0, "VAL", {"children": _raw("children", headers, rows)}, True)], b"k")[0]
    got = _typed(con, "children")
    assert [r["child_ref"] for r in got] == [_hmac(b"k", "VAL", "137"), None, None, _hmac(b"k", "VAL", "C-4")]
    assert [r["family_ref"] for r in got] == [_hmac(b"k", "VAL", "F-1")] * 2 + [_hmac(b"k", "VAL", "7"),
                                                                                 _hmac(b"k", "VAL", "F-1")]
    assert [r["birth_year"] for r in got] == [2015, 2015, None, 2015]
    assert [r["disability"] for r in got] == ["TRUE", None, "no", "2020-01-02T10:30:00"]
    assert [(f.rule, f.column, f.rows) for f in found] == [
        ("structure.id_scientific", "child_ref", (3, 4)),
        ("structure.id_float", "child_ref", (2,)),
        ("structure.value_format", "birth_year", (4,))]


def test_workbook_dates_keep_their_day():
    headers = ["event_id", "event_type", "title", "start_date", "end_date", "territory"]
    rows = [["E-1", "camp", "Nometne", dt.datetime(2020, 7, 1, 9, 0), dt.date(2020, 7, 3), "Bauska"],
            ["E-2", "camp", 2.5, 43831, "03.07.2020", 1e-05]]
    con = duckdb.connect()
    found = cells.type_chunk(con, [(0, "BAU", {"events": _raw("events", headers, rows)}, True)], b"k")[0]
    got = _typed(con, "events")
    assert [r["start_date"] for r in got] == [dt.datetime(2020, 7, 1), None]
    assert [r["end_date"] for r in got] == [dt.datetime(2020, 7, 3)] * 2
    assert [r["title"] for r in got] == ["Nometne", "2.5"]
    assert [r["territory"] for r in got] == ["Bauska", "0.00001"]
    assert [(f.rule, f.column, f.rows) for f in found] == [("structure.value_format", "start_date", (3,))]


def test_a_chunk_keeps_each_delivery_apart():
    """Rows, row numbers and findings stay with their delivery; a table a delivery lacks has no rows."""
    headers = ["session_id", "family_ref", "child_ref"]
    a = {"group_attendance": _raw("group_attendance", headers, [["G-1", "F-1", ""], ["G-1", "F-2", "x\ny"]])}
    b = {"group_attendance": _raw("group_attendance", headers, [["G-9", "F-1", ""]], first_row=5)}
    con = duckdb.connect()
    found = cells.type_chunk(con, [(0, "BAU", a, False), (1, "BAU", {}, False), (2, "VAL", b, False)], b"k")
    assert found[1] == [] and found[2] == []
    assert [(f.rule, f.column, f.rows) for f in found[0]] == [("structure.value_format", "child_ref", (3,))]
    assert [r["_row"] for r in _typed(con, "group_attendance", 0)] == [2, 3]
    assert _typed(con, "group_attendance", 1) == []
    assert [(r["_row"], r["session_id"], r["family_ref"]) for r in _typed(con, "group_attendance", 2)] == [
        (5, "G-9", _hmac(b"k", "VAL", "F-1"))]


def test_no_clear_ref_is_left_behind(tmp_path):
    """After typing, the connection (here one to a warehouse file, as the loader's) holds no
    clear ref in any table, and its spill setting is as it was."""
    headers = ["child_ref", "family_ref", "birth_year", "sex", "disability"]
    raws = {"children": _raw("children", headers, [["CLEAR-CHILD-1", "CLEAR-FAM-1", "2015", "F", ""]])}
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    before = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    cells.type_chunk(con, [(0, "BAU", raws, False)], b"k")
    assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == before
    tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    assert "c_children" in tables and not any(t.startswith("_cells_t_") for t in tables)
    assert "_cells_key" not in tables and "_cells_refs" not in tables
    for t in tables:
        text = str(con.execute(f'SELECT * FROM "{t}"').fetchall())
        assert "CLEAR-" not in text, t


def test_a_database_that_has_spilled_already_types_apart(tmp_path):
    """DuckDB cannot stop a database that has spilled to temporary files from spilling again, so
    the chunk is typed in a database of its own (no spilling) and only the typed tables come
    back: the same values, and no clear ref on the connection."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"), config={"memory_limit": "30MB", "threads": 1})
    con.execute("CREATE TEMP TABLE big AS SELECT range AS a, repeat('x', 100) AS b FROM range(600000)")
    assert con.execute("SELECT count(*) FROM duckdb_temporary_files()").fetchone()[0] > 0
    headers = ["child_ref", "family_ref", "birth_year", "sex", "disability"]
    raws = {"children": _raw("children", headers, [["CLEAR-CHILD-1", "CLEAR-FAM-1", "2015", "F", ""],
                                                   ["CLEAR-CHILD-2", "CLEAR-FAM-1", "20x5", "M", "yes"]])}
    found = cells.type_chunk(con, [(4, "BAU", raws, False)], b"k")[4]
    assert [(f.rule, f.column, f.rows) for f in found] == [("structure.value_format", "birth_year", (3,))]
    got = _typed(con, "children", 4)
    assert [(r["_row"], r["child_ref"], r["birth_year"], r["disability"]) for r in got] == [
        (2, _hmac(b"k", "BAU", "CLEAR-CHILD-1"), 2015, None), (3, _hmac(b"k", "BAU", "CLEAR-CHILD-2"), None, "yes")]
    assert con.execute("SELECT data_type FROM duckdb_columns() WHERE table_name = 'c_children' "
                       "AND column_name = 'birth_year'").fetchone()[0] == "BIGINT"
    for t in [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name <> 'big'").fetchall()]:
        assert "CLEAR-" not in str(con.execute(f'SELECT * FROM "{t}"').fetchall()), t
