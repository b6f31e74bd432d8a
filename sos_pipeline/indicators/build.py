"""Indicators: reference data into the warehouse, the SQL of sql/reporting and sql/indicators.

Each step below runs in one transaction on the working warehouse:
1. `load_reference`  reporting.centres/projects/targets/... and the catalogue, from the YAML files;
2. `build_base`      periods and scopes (sql/reporting/periods.sql), activity in scope
                     (sql/reporting/scoped_activity.sql), who has delivered
                     (sql/reporting/completeness.sql, as of today in Riga);
3. `build_family`    one per file of sql/indicators/: its SELECT into derived.values_<file>;
4. `build_values`    reporting.indicator_values from every family, then reporting.target_progress.

A build either computes every period (`since` None) or only the periods ending on or after
`since` (sos_pipeline/indicators/incremental.py decides which): derived.period_months,
derived.scope_periods and derived.served then hold only those periods, each family's table only
their rows, and `build_values` replaces those rows of reporting.indicator_values, keeping the
others. The families of WHOLE are recomputed whole either way.
"""
from __future__ import annotations

import datetime as dt
import re

from sos_pipeline import contract, reference
from sos_pipeline.faults import pause_point
from sos_pipeline.indicators.catalogue import catalogue, families, indicators_of
from sos_pipeline.warehouse.db import sql, statements, transaction

VALUE_COLUMNS = ("indicator", "project", "centre", "period_type", "period", "period_start",
                 "period_end", "breakdown", "value")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Families recomputed whole on every build: they are cheap, and they read what a change of one
# centre-month can move in any period (a mentoring pair spans all its listings; the audit; the
# reference data), from every period (reporting.periods, not derived.period_months).
WHOLE = ("mentoring", "completeness", "manual")


class IndicatorSQLError(RuntimeError):
    """An indicator SQL file produced something the catalogue does not allow."""


def _run(con, name: str) -> None:
    for stmt in statements(sql(name)):
        con.execute(stmt)


def load_reference(con, ref: reference.Reference) -> None:
    """Reference data and the catalogue into reporting.* (replacing what was there)."""
    with transaction(con):
        # A warehouse made before a column existed: ensure_schema only creates missing tables, so
        # add the column here, and (re)write every reporting comment from sql/schema/reporting.sql.
        con.execute("ALTER TABLE reporting.centres ADD COLUMN IF NOT EXISTS due_day INTEGER")
        for stmt in statements(sql("schema/reporting")):
            if stmt.upper().startswith("COMMENT ON"):
                con.execute(stmt)
        for t in ("centres", "projects", "project_centres", "project_budget", "targets",
                  "manual_values", "indicator_catalogue"):
            con.execute(f"DELETE FROM reporting.{t}")
        con.executemany("INSERT INTO reporting.centres (centre, name_lv, name_en, active_from, due_day) "
                        "VALUES (?, ?, ?, ?, ?)",
                        [(c.code, c.name_lv, c.name_en, c.active_from, c.due_day)
                         for c in ref.centres.values()])
        for p in ref.projects.values():
            con.execute("INSERT INTO reporting.projects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [p.code, p.number, p.name_lv, p.name_en, p.funder, p.start, p.end,
                         p.services_end, p.reporting_months, p.suppression_threshold])
            for c in p.centres:
                con.execute("INSERT INTO reporting.project_centres VALUES (?, ?)", [p.code, c])
            for source, amount in p.budget:
                con.execute("INSERT INTO reporting.project_budget VALUES (?, ?, ?)", [p.code, source, amount])
            for t in p.targets:
                con.execute("INSERT INTO reporting.targets VALUES (?, ?, ?, ?, ?, ?)",
                            [p.code, t.indicator, t.breakdown, t.centre, t.value, t.valid_from])
            for m in p.manual_values:
                con.execute("INSERT INTO reporting.manual_values VALUES (?, ?, ?, ?, ?, ?)",
                            [p.code, m.indicator, m.breakdown, m.centre, m.value, m.date])
        con.executemany(
            "INSERT INTO reporting.indicator_catalogue VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(i.indicator, i.name_lv, i.name_en, i.definition, i.unit, ", ".join(i.breakdowns),
              "reference data (manual_values)" if i.manual else f"sql/indicators/{i.sql}.sql")
             for i in catalogue()])
        con.execute("CREATE OR REPLACE TABLE derived.full_course (group_type VARCHAR, sessions INTEGER)")
        con.executemany("INSERT INTO derived.full_course VALUES (?, ?)",
                        list(contract.FULL_COURSE_SESSIONS.items()))
        con.execute("COMMENT ON TABLE derived.full_course IS 'Sessions that make a group type''s full "
                    "course (contract.py); group types without one have no completers.'")
        con.execute("COMMENT ON COLUMN derived.full_course.group_type IS 'Group type.'")
        con.execute("COMMENT ON COLUMN derived.full_course.sessions IS 'Attended sessions that "
                    "complete the course.'")


def _since(since: dt.date | None) -> str:
    return "NULL" if since is None else f"DATE '{since.isoformat()}'"


def build_base(con, today: dt.date | None = None, since: dt.date | None = None) -> None:
    """Periods, scopes, activity in scope and who has delivered: what every indicator file reads.

    `today` (default: today in Riga, or SOS_TODAY) decides the last ended month of
    reporting.completeness; `since` (default: every period) the periods to compute."""
    if today is None:
        from sos_pipeline.ingest.intake import today as riga_today
        today = riga_today()
    with transaction(con):
        con.execute(f"SET VARIABLE sos_today = DATE '{today.isoformat()}'")
        con.execute(f"SET VARIABLE sos_since = {_since(since)}")
        _run(con, "reporting/periods")
        _run(con, "reporting/scoped_activity")
        _run(con, "reporting/completeness")


def build_family(con, family: str, since: dt.date | None = None) -> int:
    """Run sql/indicators/<family>.sql into derived.values_<family> (the periods ending on or after
    `since`, unless the family is one of WHOLE); returns its row count. build_base must have run
    with the same `since`."""
    if not _NAME.match(family):
        raise ValueError(f"bad indicator family name {family!r}")
    select = sql(f"indicators/{family}")
    table = f"derived.values_{family}"
    where = "" if since is None or family in WHOLE else f" WHERE period_end >= {_since(since)}"
    with transaction(con):
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {', '.join(VALUE_COLUMNS)} FROM ({select}){where}")
        allowed = set(indicators_of(family))
        made = {r[0] for r in con.execute(f"SELECT DISTINCT indicator FROM {table}").fetchall()}
        if made - allowed:
            raise IndicatorSQLError(
                f"sql/indicators/{family}.sql produced {sorted(made - allowed)}, which the catalogue "
                f"(sos_pipeline/indicators/catalogue.yaml) does not list for it: add an entry with "
                f"sql: {family}")
        con.execute(f"COMMENT ON TABLE {table} IS 'Values computed by sql/indicators/{family}.sql "
                    "in the last build (every period, or those it recomputed), collected into "
                    "reporting.indicator_values.'")
        for col in VALUE_COLUMNS:
            con.execute(f"COMMENT ON COLUMN {table}.{col} IS 'As in reporting.indicator_values.'")
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def build_values(con, since: dt.date | None = None, record=None) -> dict:
    """reporting.indicator_values from every family's table (every row, or, with `since`, the rows
    of the periods ending on or after it and every row of the WHOLE families), then
    reporting.target_progress. `record(con)` runs in the same transaction."""
    cols = ", ".join(VALUE_COLUMNS)
    with transaction(con):
        if since is None:
            union = " UNION ALL ".join(f"SELECT {cols} FROM derived.values_{f}" for f in families())
            con.execute("DELETE FROM reporting.indicator_values")
            con.execute(f"INSERT INTO reporting.indicator_values SELECT * FROM ({union}) "
                        "ORDER BY indicator, project NULLS FIRST, centre NULLS FIRST, period_type, "
                        "period_start, period_end, breakdown NULLS FIRST")
        else:    # the recomputed rows are appended: the table is no longer in this order
            for f in families():
                names = ", ".join("'" + n + "'" for n in indicators_of(f))
                where = "" if f in WHOLE else f" AND period_end >= {_since(since)}"
                con.execute(f"DELETE FROM reporting.indicator_values WHERE indicator IN ({names}){where}")
                con.execute(f"INSERT INTO reporting.indicator_values SELECT {cols} FROM derived.values_{f}")
        _run(con, "reporting/target_progress")
        if record is not None:
            record(con)
        pause_point("indicators")
        return {
            "rows": con.execute("SELECT count(*) FROM reporting.indicator_values").fetchone()[0],
            "targets": con.execute("SELECT count(*) FROM reporting.target_progress").fetchone()[0],
        }

