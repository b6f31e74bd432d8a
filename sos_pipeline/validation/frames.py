"""The suites' input, built by DuckDB: one query per suite over the staged rows of a whole batch.

A batch's deliveries are staged once (`stage`): every table's rows of every delivery in one
temporary table `v_<table>` (`_delivery` is the delivery's index in the batch, `_row` its row
number in the file), and `v_deliveries` (centre, month). What each delivery is checked against
in its centre's other months is staged beside them:

- `v_prev_families` (_delivery, family_ref, enrolled_on, exited_on, month, _order): the family
  listings of the centre's earlier months, as the delivery sees them;
- `v_used_ids` (_delivery, t, id): the delivery's own centre-unique ids already used in another
  month of its centre.

The loader fills these from core overlaid with the batch (`stage_history`: each delivery sees
its centre's months as they will be once the deliveries queued before it are loaded); a single
delivery with a hand-made DeliveryContext fills them from the context (`stage_context`). Then
`table_frame` and `cross_frame` are one query each: the helper columns that used to be built
delivery by delivery in pandas (month bounds, the table key, membership flags, the family's
history, the project's window) are joins. Only the finished frame goes to pandas, for Great
Expectations.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sos_pipeline import contract as C
from sos_pipeline.validation import rules as R
from sos_pipeline.warehouse.db import ident, sql, statements

SEP = "\x1f"
_PROJECT_TABLES = tuple(t.name for t in C.TABLES.values() if t.has_project)


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _stage_batch(con, deliveries: list[tuple[str, dt.date, dt.date]], projects: dict) -> None:
    """v_deliveries (centre, month, month's last day of each delivery, by `_delivery`), v_projects,
    and an empty v_<table> for every table."""
    con.execute("CREATE OR REPLACE TEMP TABLE v_deliveries (_delivery INTEGER, centre VARCHAR, "
                "month DATE, month_end DATE)")
    con.executemany("INSERT INTO v_deliveries VALUES (?, ?, ?, ?)",
                    [[d, c, m, e] for d, (c, m, e) in enumerate(deliveries)])
    for t in C.TABLES.values():
        cols = ", ".join(f"{ident(c.name)} {C.staged_type(c)}" for c in t.columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE v_{t.name} (_delivery INTEGER, _row BIGINT, {cols})")
    con.execute("CREATE OR REPLACE TEMP TABLE v_projects (code VARCHAR, start_date DATE, end_date DATE)")
    if projects:
        con.executemany("INSERT INTO v_projects VALUES (?, ?, ?)",
                        [[code, p.start, p.end] for code, p in projects.items()])


def stage_typed(con, items: list[tuple[int, str, dt.date, dt.date]], projects: dict) -> None:
    """The loader's staging: items are (_item, centre, month, month's last day) of deliveries
    whose rows were typed on `con` into c_<table> (ingest/cells.py), in batch order (their
    `_delivery`). No pandas on the way."""
    _stage_batch(con, [(c, m, e) for _, c, m, e in items], projects)
    con.execute("CREATE OR REPLACE TEMP TABLE _v_items (_item INTEGER, _delivery INTEGER)")
    con.executemany("INSERT INTO _v_items VALUES (?, ?)", [[n, d] for d, (n, *_) in enumerate(items)])
    for t in C.TABLES.values():
        cols = ", ".join(f"c.{ident(c.name)}" for c in t.columns)
        con.execute(f"INSERT INTO v_{t.name} SELECT m._delivery, c._row, {cols} "
                    f"FROM c_{t.name} c JOIN _v_items m USING (_item) ORDER BY m._delivery, c._row")


def stage(con, items: list[tuple[dict[str, pd.DataFrame], str, dt.date, dt.date]], projects: dict) -> None:
    """Staging of parsed frames (validate_batch: hand-made deliveries and contexts). items:
    (parsed tables, centre, month, month's last day) of each delivery, in batch order (its
    `_delivery`)."""
    _stage_batch(con, [(c, m, e) for _, c, m, e in items], projects)
    for t in C.TABLES.values():
        parts, index = [], []
        for d, (tables, *_) in enumerate(items):
            df = tables.get(t.name)
            if df is not None and len(df):
                missing = [c for c in ("_row", *t.column_names) if c not in df.columns]
                if missing:
                    raise ValueError(f"table {t.name} lacks column(s) {', '.join(missing)}: the parser "
                                     "must pass every contract column and _row")
                parts.append(df)
                index.append(np.full(len(df), d, dtype="int32"))
        if not parts:
            continue
        # One concatenation, one selection and one index column per table (not per delivery).
        frame = pd.concat(parts, ignore_index=True)[["_row", *t.column_names]]
        frame.insert(0, "_delivery", np.concatenate(index))
        select = ", ".join(f"CAST({ident(c.name)} AS {C.staged_type(c)})" for c in t.columns)
        con.register("_v_frame", frame)
        try:
            con.execute(f"INSERT INTO v_{t.name} SELECT _delivery, _row, {select} FROM _v_frame")
        finally:
            con.unregister("_v_frame")


def stage_history(con) -> None:
    """v_prev_families and v_used_ids from core, overlaid with the batch (see the module docstring)."""
    for stmt in statements(sql("validation/history")):
        con.execute(stmt)
    con.execute("CREATE OR REPLACE TEMP TABLE v_used_ids (_delivery INTEGER, t VARCHAR, id VARCHAR)")
    for t, col in C.CENTRE_UNIQUE_IDS.items():
        for stmt in statements(sql("validation/used_ids", table=t, id=ident(col))):
            con.execute(stmt)


def stage_context(con, contexts) -> None:
    """v_prev_families and v_used_ids from hand-made DeliveryContexts (one per delivery)."""
    con.execute("CREATE OR REPLACE TEMP TABLE v_prev_families (_delivery INTEGER, family_ref VARCHAR, "
                "enrolled_on DATE, exited_on DATE, month DATE, _order BIGINT)")
    con.execute("CREATE OR REPLACE TEMP TABLE v_used_ids (_delivery INTEGER, t VARCHAR, id VARCHAR)")
    for d, ctx in enumerate(contexts):
        prev = ctx.previous_families
        if prev is not None and len(prev):
            f = prev[["family_ref", "enrolled_on", "exited_on", "month"]].copy()
            for c in ("enrolled_on", "exited_on", "month"):
                f[c] = pd.to_datetime(f[c])
            f.insert(0, "_delivery", d)
            f["_order"] = range(len(f))
            con.register("_v_prev", f)
            try:
                con.execute("INSERT INTO v_prev_families SELECT _delivery, CAST(family_ref AS VARCHAR), "
                            "CAST(enrolled_on AS DATE), CAST(exited_on AS DATE), CAST(month AS DATE), "
                            "_order FROM _v_prev")
            finally:
                con.unregister("_v_prev")
        rows = []
        for t, col in C.CENTRE_UNIQUE_IDS.items():
            used = {str(v) for v in ctx.existing_ids.get(t, ())}
            if not used:
                continue
            own = {r[0] for r in con.execute(
                f"SELECT DISTINCT CAST({ident(col)} AS VARCHAR) FROM v_{t} WHERE _delivery = ? "
                f"AND {ident(col)} IS NOT NULL", [d]).fetchall()}
            rows += [[d, t, i] for i in sorted(own & used)]
        if rows:
            con.executemany("INSERT INTO v_used_ids VALUES (?, ?, ?)", rows)


def used_ids(con) -> list[str]:
    """The `used_ids` suite parameter: "<delivery>␟<table>:<id>" of every id already used."""
    return [f"{d}{SEP}{t}:{i}" for d, t, i in con.execute(
        "SELECT DISTINCT _delivery, t, id FROM v_used_ids ORDER BY ALL").fetchall()]


# ---------------------------------------------------------------------------------------
# One query per suite.

def _table_sql(t: C.Table) -> str:
    cols = ", ".join(f"x.{ident(c.name)}" for c in t.columns)
    key = (f", CASE WHEN x.{ident(t.key)} IS NULL THEN NULL ELSE CAST(x._delivery AS VARCHAR) || "
           f"{_lit(SEP)} || CAST(x.{ident(t.key)} AS VARCHAR) END AS _key") if t.key else ""
    return (f"SELECT x._delivery, {_lit(t.name)} AS _table, x._row, {cols}, d.month AS _month_start, "
            f"d.month_end AS _month_end, year(d.month) - 24 AS _birth_year_min, "
            f"year(d.month) AS _birth_year_max{key} "
            f"FROM v_{t.name} x JOIN v_deliveries d USING (_delivery)")


def table_frame(con, name: str) -> pd.DataFrame:
    """The rows of one table, for its suite: `_delivery`, `_table`, `_row`, the contract columns
    typed as the expectations read them, and the helper columns of the delivery's month and key."""
    t = C.TABLES[name]
    df = con.execute(_table_sql(t)).df()
    for c in t.columns:
        _cast(df, c.name, c.kind)
    for c in ("_month_start", "_month_end"):
        _cast(df, c, C.DATE)
    for c in ("_birth_year_min", "_birth_year_max"):
        _cast(df, c, C.INT)
    if t.key:
        _cast(df, "_key", C.TEXT)
    _cast(df, "_table", C.TEXT)
    df["_row"] = df["_row"].astype("int64")
    df["_delivery"] = df["_delivery"].astype("int64")
    return df


def _cross_sql(t: C.Table) -> str:
    """One table's rows in the cross-table frame, with the helper columns its rules check."""
    n = t.name
    sel = ["x._delivery", f"{_lit(n)} AS _table", "x._row"]
    joins = []
    if n in C.CENTRE_UNIQUE_IDS:
        idc = ident(C.CENTRE_UNIQUE_IDS[n])
        sel.append(f"CASE WHEN x.{idc} IS NULL THEN NULL ELSE CAST(x._delivery AS VARCHAR) || "
                   f"{_lit(SEP + n + ':')} || x.{idc} END AS _centre_id")
    if n == "families":
        sel += ["x.enrolled_on", "h._prev_enrolled_on", "h._earlier_exit_on"]
        joins.append("LEFT JOIN v_history h ON h._delivery = x._delivery AND h._row = x._row")
    if n in R.FAMILY_LISTED:
        sel.append("CASE WHEN x.family_ref IS NULL THEN NULL ELSE EXISTS (SELECT 1 FROM v_families f "
                   "WHERE f._delivery = x._delivery AND f.family_ref = x.family_ref) END AS _family_listed")
    if n in R.CHILD_OF_FAMILY:
        sel.append("CASE WHEN x.family_ref IS NULL OR x.child_ref IS NULL THEN NULL ELSE EXISTS (SELECT 1 "
                   "FROM v_children c WHERE c._delivery = x._delivery AND c.family_ref = x.family_ref "
                   "AND c.child_ref = x.child_ref) END AS _child_of_family")
    if n == "group_attendance":
        sel.append("CASE WHEN x.session_id IS NULL THEN NULL ELSE EXISTS (SELECT 1 FROM v_group_sessions s "
                   "WHERE s._delivery = x._delivery AND s.session_id = x.session_id) END AS _session_listed")
    if n == "event_participants":
        sel.append("CASE WHEN x.event_id IS NULL THEN NULL ELSE EXISTS (SELECT 1 FROM v_events e "
                   "WHERE e._delivery = x._delivery AND e.event_id = x.event_id) END AS _event_listed")
    if t.has_project:
        sel += ["x.project",
                f"CASE WHEN x.project IS NULL THEN NULL ELSE d.centre || {_lit(SEP)} || x.project END "
                "AS _centre_project",
                f"x.{ident(t.activity_date)} AS _activity_date", "p.start_date AS _project_start",
                "p.end_date AS _project_end"]
        joins.append("LEFT JOIN v_projects p ON p.code = x.project")
    return (f"SELECT {', '.join(sel)} FROM v_{n} x JOIN v_deliveries d USING (_delivery) "
            + " ".join(joins))


CROSS_DATES = ("enrolled_on", "_prev_enrolled_on", "_earlier_exit_on", "_activity_date",
               "_project_start", "_project_end")
CROSS_COLUMNS = ("_delivery", "_table", "_row", "_centre_id", "_centre_project", "enrolled_on",
                 "_prev_enrolled_on", "_earlier_exit_on", "_family_listed", "_child_of_family",
                 "_session_listed", "_event_listed", "project", "_activity_date", "_project_start",
                 "_project_end")


def cross_frame(con) -> pd.DataFrame:
    """Every row of every table, with the helper columns the cross-table rules check."""
    for stmt in statements(sql("validation/family_history")):
        con.execute(stmt)
    query = " UNION ALL BY NAME ".join(f"({_cross_sql(t)})" for t in C.TABLES.values())
    df = con.execute(query).df().reindex(columns=list(CROSS_COLUMNS))
    for c in CROSS_COLUMNS:
        if c in CROSS_DATES:
            _cast(df, c, C.DATE)
        elif c not in ("_row", "_delivery"):
            _cast(df, c, C.TEXT)
    df["_row"] = df["_row"].astype("int64")
    df["_delivery"] = df["_delivery"].astype("int64")
    return df


def _cast(df: pd.DataFrame, col: str, kind: str) -> None:
    """The dtypes the suites were proven on: dates datetime64[ns], whole numbers Int64, numbers
    float64, everything else object with None for a missing value."""
    if kind == C.DATE:
        df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
    elif kind in (C.INT, C.YEAR):
        df[col] = df[col].astype("Int64")
    elif kind == C.NUMBER:
        df[col] = df[col].astype("float64")
    else:
        s = df[col].astype(object)
        df[col] = s.where(s.notna(), None)
