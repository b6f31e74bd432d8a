"""Typing the cells of a whole chunk of deliveries at once, in DuckDB.

The reader (ingest/reader.py) parses each delivery's files and sheets into raw tables: the text
of every cell, with its row number in the file. Here the raw tables of every delivery of a
chunk are handed to DuckDB together, one table at a time (`type_chunk`), and typed there by
the rules of sql/load/typing.sql: dates, whole numbers, numbers, ids, and each ref replaced by
its keyed pseudonym (HMAC-SHA256, computed in SQL). What went wrong in a cell (a spreadsheet
error value, a value that is no date, an id in scientific notation, ...) becomes a finding per
delivery, table, column and kind, naming the rows, never the values.

The typed rows stay in DuckDB, in temporary tables `c_<table>` of the caller's connection
(`_item` is the delivery's index in the chunk, `_row` its row number), ready to be staged for
validation and loaded into core without passing through pandas. `frame` returns one
delivery's table as a pandas frame, for the one-delivery API (reader.read_delivery).
"""
from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd

from sos_pipeline import contract
from sos_pipeline.findings import ERROR, WARNING, Finding
from sos_pipeline.warehouse.db import ident, registered, sql, statements

# Columns holding the centre's own case numbers and ids: a spreadsheet may have turned them
# into numbers (137 -> 137.0, 123456789012 -> 1.23457E+11).
ID_COLUMNS = frozenset(contract.REF_COLUMNS) | {"contact_id", "session_id", "event_id", "pair_id",
                                                "training_id", "group_code"}
FLAGS = ("error", "scientific", "float", "bad")       # the order findings are listed in
_KIND_LABEL = {contract.DATE: "a date (YYYY-MM-DD or DD.MM.YYYY)", contract.INT: "a whole number",
               contract.YEAR: "a 4-digit year", contract.NUMBER: "a number"}


def key_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer key pads (RFC 2104) for SHA-256."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def _steps(col: contract.Column, i: int) -> tuple[list[str], list[str], list[str], str, str]:
    """The SQL of one column's typing (sql/load/typing.sql), step by step: what step 1, 2 and 3
    add (each over the one before, so each macro is planned once), then the value and the flag.
    t<i> is the cell's text; a ref's pseudonym comes from the join p<i>."""
    t = f"t{i}"
    if col.kind == contract.DATE:
        return ([f"sos_ymd({t}) AS a{i}", f"sos_dmy({t}) AS b{i}"], [f"sos_date(a{i}, b{i}) AS v{i}"], [],
                f"v{i}", f"sos_flag({t}, v{i})")
    if col.kind in (contract.INT, contract.YEAR, contract.NUMBER):
        whole = col.kind != contract.NUMBER
        return ([f"sos_number_text({t}) AS a{i}"], [f"sos_number(a{i}) AS {'x' if whole else 'v'}{i}"],
                [f"sos_int(x{i}) AS v{i}"] if whole else [], f"v{i}", f"sos_flag({t}, v{i})")
    if col.name in ID_COLUMNS:
        value = (f"CASE WHEN sos_id_readable({t}, f{i}) THEN p{i}.p END" if col.kind == contract.REF
                 else f"CASE WHEN sos_id_readable({t}, f{i}) THEN sos_defuse(a{i}) END")
        return [f"sos_id_flag({t}) AS f{i}", f"sos_id_text({t}) AS a{i}"], [], [], value, f"f{i}"
    return [], [], [], f"sos_text({t})", f"sos_text_flag({t})"


# ---------------------------------------------------------------------------------- cells

def _xlsx_text(v, col: contract.Column):
    """A workbook cell's value as the text the typing rules read. Numbers and dates a workbook
    stores as such are written so that the rules read what they meant: a date cell is its day,
    a number in an id column 137 -> '137.0' (read as 137, with a warning) and a fraction there
    -> scientific notation (its digits are not an id's)."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return str(v).upper()
    if isinstance(v, dt.datetime):
        if col.kind == contract.DATE or v.time() == dt.time():
            return v.date().isoformat()
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (int, float)):
        if col.name in ID_COLUMNS:
            if isinstance(v, int):
                return str(v)
            if v == v and v.is_integer() and (abs(v) < 2 ** 53 or "e" not in repr(v)):
                return f"{int(v)}.0"
            return "0E0"                    # read as scientific notation: its digits are lost
        if isinstance(v, float):
            if v == v and v.is_integer() and abs(v) < 2 ** 63:
                return str(int(v))
            return np.format_float_positional(v, trim="-")
        return str(v)
    return str(v)


def _columns(raw, table: contract.Table, xlsx: bool) -> list:
    """Each contract column's cells (None for a column the table lacks)."""
    index = {h.lower(): i for i, h in enumerate(raw.headers) if h}
    rows = [cells for _, cells in raw.rows]
    width = len(raw.headers)
    if not all(len(c) == width for c in rows):
        rows = [list(c[:width]) + [None] * (width - len(c)) for c in rows]
    by_position = list(zip(*rows)) if rows else [()] * width
    out = []
    for col in table.columns:
        i = index.get(col.name)
        if i is None:
            out.append(None)
        elif xlsx:
            out.append([None if v is None else v.strip()
                        for v in (_xlsx_text(v, col) for v in by_position[i])])
        else:                           # CSV: every cell is text
            out.append(list(map(str.strip, by_position[i])))
    return out


# ---------------------------------------------------------------------------------- typing

def prepare(con, key: bytes) -> None:
    """The typing macros and the key's pads on this connection."""
    for stmt in statements(sql("load/typing")):
        con.execute(stmt)
    ipad, opad = key_pads(key)
    con.execute("CREATE OR REPLACE TEMP TABLE _cells_key (ipad BLOB, opad BLOB)")
    con.execute("INSERT INTO _cells_key VALUES (?, ?)", [ipad, opad])


def type_chunk(con, entries: list[tuple[int, str, dict, bool]], key: bytes) -> dict[int, list[Finding]]:
    """entries: (_item, centre, {table name: RawTable}, whether it came from a workbook) of every
    delivery to type. Fills c_<table> on `con` (replacing what was there) and returns each item's
    findings, in the order the reader has always listed them (table, column, kind).

    A few statements per table whatever the number of deliveries: each table's cells as text
    (_cells_t_<table>), every distinct ref of the chunk hashed once (_cells_refs), each table
    typed (c_<table>), then one query for what went wrong in every table."""
    import duckdb

    # The cells' text holds the centres' refs in clear: it stays in memory, never spilled to
    # DuckDB's temporary files, and is dropped before this returns (only the archive keeps what
    # centres sent).
    spill = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    try:
        con.execute("SET temp_directory = ''")
    except duckdb.NotImplementedException:  # this database has spilled already: it cannot stop
        return _type_apart(con, entries, key)
    prepare(con, key)
    typed: list[contract.Table] = []
    try:
        with registered(con, _cells_items_df=pd.DataFrame({
                "_item": np.array([n for n, *_ in entries], dtype="int32"),
                "centre": _object_array([c for _, c, *_ in entries])})):
            con.execute("CREATE OR REPLACE TEMP TABLE _cells_items AS "
                        "SELECT _item, CAST(centre AS VARCHAR) AS centre FROM _cells_items_df")
        for table in contract.TABLES.values():
            columns: list[list] = [[] for _ in table.columns]
            items, rows = [], []
            for n, _, raws, xlsx in entries:
                raw = raws.get(table.name)
                if raw is None or not raw.rows:
                    continue
                count = len(raw.rows)
                items.append((n, count))
                rows.extend(r for r, _ in raw.rows)
                for flat, cells in zip(columns, _columns(raw, table, xlsx)):
                    flat.extend(cells if cells is not None else (None,) * count)
            if items:
                _stage_text(con, table, items, rows, columns)
                typed.append(table)
            else:                       # no delivery of the chunk has rows of it
                cols = ", ".join(f"{ident(c.name)} {contract.staged_type(c)}, {ident('_f_' + c.name)} VARCHAR"
                                 for c in table.columns)
                con.execute(f"CREATE OR REPLACE TEMP TABLE c_{table.name} (_item INTEGER, _row BIGINT, {cols})")
        _hash_refs(con, typed)
        for table in typed:
            _type_table(con, table)
        found = _flags(con, typed)
    finally:
        for table in contract.TABLES.values():
            con.execute(f"DROP TABLE IF EXISTS _cells_t_{table.name}")
        con.execute("DROP TABLE IF EXISTS _cells_refs")
        con.execute("DROP TABLE IF EXISTS _cells_key")      # the key's pads: not kept either
        con.execute("SET temp_directory = " + "'" + spill.replace("'", "''") + "'")
    return _findings(entries, found)


def _type_apart(con, entries, key: bytes) -> dict[int, list[Finding]]:
    """type_chunk in a database of its own that never spills, and only the typed tables
    (pseudonyms, no clear ref) copied to `con`: for a connection whose database has spilled to
    temporary files already, which DuckDB cannot stop from spilling again."""
    import duckdb

    apart = duckdb.connect(config={"temp_directory": ""})
    try:
        found = type_chunk(apart, entries, key)
        for table in contract.TABLES.values():
            cols = ", ".join(f"CAST({ident(c.name)} AS {contract.staged_type(c)}) AS {ident(c.name)}, "
                             f"CAST({ident('_f_' + c.name)} AS VARCHAR) AS {ident('_f_' + c.name)}"
                             for c in table.columns)
            with registered(con, _cells_typed=apart.execute(f"SELECT * FROM c_{table.name}").df()):
                con.execute(f"CREATE OR REPLACE TEMP TABLE c_{table.name} AS SELECT CAST(_item AS INTEGER) "
                            f"AS _item, CAST(_row AS BIGINT) AS _row, {cols} FROM _cells_typed")
    finally:
        apart.close()
    return found


def _stage_text(con, table: contract.Table, items, rows, columns) -> None:
    """_cells_t_<table>: _item, _row and each contract column's text t<i> (NULL when empty)."""
    frame = pd.DataFrame({
        "_item": np.repeat(np.array([n for n, _ in items], dtype="int32"),
                           np.array([c for _, c in items], dtype="int64")),
        "_row": np.array(rows, dtype="int64"),
        **{f"c{i}": _object_array(values) for i, values in enumerate(columns)}})
    texts = ", ".join(f"nullif(CAST(c{i} AS VARCHAR), '') AS t{i}" for i in range(len(columns)))
    with registered(con, _cells_raw=frame):
        con.execute(f"CREATE OR REPLACE TEMP TABLE _cells_t_{table.name} AS "
                    f"SELECT _item, _row, {texts} FROM _cells_raw")


def _hash_refs(con, tables: list[contract.Table]) -> None:
    """_cells_refs (centre, t, p): every distinct readable ref of the chunk, its pseudonym computed
    once (a family's ref repeats in every row of every table)."""
    distinct = " UNION ALL ".join(
        f"SELECT i.centre, sos_id_text(r.t{i}) AS t FROM _cells_t_{table.name} r "
        f"JOIN _cells_items i USING (_item) WHERE sos_id_readable(r.t{i}, sos_id_flag(r.t{i}))"
        for table in tables for i, col in enumerate(table.columns) if col.kind == contract.REF)
    if not distinct:
        distinct = "SELECT NULL::VARCHAR AS centre, NULL::VARCHAR AS t WHERE false"
    con.execute("CREATE OR REPLACE TEMP TABLE _cells_refs AS SELECT centre, t, "
                "sos_pseudonym(k.ipad, k.opad, centre, t) AS p "
                f"FROM (SELECT DISTINCT * FROM ({distinct})) CROSS JOIN _cells_key k")


def _type_table(con, table: contract.Table) -> None:
    """c_<table>: _item, _row, each contract column typed and its flag _f_<column>."""
    steps = [_steps(col, i) for i, col in enumerate(table.columns)]
    joins = " ".join(f"LEFT JOIN _cells_refs p{i} ON p{i}.centre = s.centre AND p{i}.t = s.a{i}"
                     for i, col in enumerate(table.columns) if col.kind == contract.REF)
    query = f"SELECT r.*, i.centre FROM _cells_t_{table.name} r JOIN _cells_items i USING (_item)"
    for level in range(3):
        added = [x for st in steps for x in st[level]]
        if added:
            query = f"SELECT *, {', '.join(added)} FROM ({query})"
    typed = []
    for (*_, value, flag), col in zip(steps, table.columns):
        typed.append(f"CAST({value} AS {contract.staged_type(col)}) AS {ident(col.name)}")
        typed.append(f"{flag} AS {ident('_f_' + col.name)}")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE c_{table.name} AS
        SELECT s._item, s._row, {', '.join(typed)} FROM ({query}) s {joins}
        ORDER BY s._item, s._row""")


def _object_array(values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _flags(con, tables: list[contract.Table]) -> dict:
    """(_item, table, column, flag) -> (count, rows) of every flagged cell, in one query (each
    table's flag columns unpivoted: a flagged cell becomes a row, an unflagged one none)."""
    if not tables:
        return {}
    query = " UNION ALL ".join(
        f"SELECT _item, {t} AS t, name, value AS flag, count(*) AS n, list(_row ORDER BY _row) AS at "
        f"FROM (UNPIVOT (SELECT _item, _row, COLUMNS('^_f_') FROM c_{table.name}) "
        f"ON COLUMNS('^_f_') INTO NAME name VALUE value) GROUP BY ALL"
        for t, table in enumerate(tables))
    return {(n, tables[t].name, name.removeprefix("_f_"), flag): (count, at)
            for n, t, name, flag, count, at in con.execute(query).fetchall()}


def _findings(entries, found) -> dict[int, list[Finding]]:
    out: dict[int, list[Finding]] = {n: [] for n, *_ in entries}
    for n, _, raws, _ in entries:
        for table in contract.TABLES.values():
            raw = raws.get(table.name)
            if raw is None:
                continue
            for col in table.columns:
                where = f"column '{col.name}' of {raw.source}"
                for flag in FLAGS:
                    hit = found.get((n, table.name, col.name, flag))
                    if hit:
                        out[n].append(_finding(flag, table.name, col, where, *hit))
    return out


def _finding(flag: str, table: str, col: contract.Column, where: str, count: int, at) -> Finding:
    rule, severity, what = {
        "error": ("structure.error_value", ERROR,
                  f"cell(s) in {where} hold a spreadsheet error value (#N/A, #VALUE!, #REF!, ...): a "
                  "formula failed. Correct the formula or type the value, and re-send."),
        "scientific": ("structure.id_scientific", ERROR,
                       f"value(s) in {where} are written in scientific notation (like 1.23457E+11): "
                       "the spreadsheet turned the id into a number and its digits are lost. Format "
                       "the column as Text, type the ids again and re-send."),
        "float": ("structure.id_float", WARNING,
                  f"value(s) in {where} were written as decimal numbers (like 137.0) and were read as "
                  "whole numbers (137). Format the column as Text in the spreadsheet to avoid this."),
        "bad": ("structure.value_format", ERROR,
                f"value(s) in {where} cannot be read as "
                f"{_KIND_LABEL.get(col.kind, 'an id on one line')}."),
    }[flag]
    return Finding(rule, severity, table, col.name, f"{count} {what}", tuple(int(r) for r in at), count)


# ---------------------------------------------------------------------------------- reading back

def frame(con, table: contract.Table, item: int) -> pd.DataFrame:
    """One delivery's typed table as a pandas frame: `_row` and the contract columns, dates as
    datetime64, whole numbers Int64, numbers float64, text object with None for a missing value."""
    cols = ", ".join(ident(c.name) for c in table.columns)
    df = con.execute(f"SELECT _row, {cols} FROM c_{table.name} WHERE _item = ? ORDER BY _row",
                     [item]).df()
    out = {"_row": df["_row"].astype("int64").to_numpy()}
    for c in table.columns:
        s = df[c.name]
        if c.kind == contract.DATE:
            out[c.name] = pd.to_datetime(s).astype("datetime64[us]")
        elif c.kind in (contract.INT, contract.YEAR):
            out[c.name] = s.astype("Int64")
        elif c.kind == contract.NUMBER:
            out[c.name] = s.astype("float64")
        else:
            s = s.astype(object)
            out[c.name] = s.where(s.notna(), None)
    return pd.DataFrame(out)
