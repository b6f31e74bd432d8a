"""Which periods an indicator build must recompute.

A refresh that loads one centre-month cannot move the indicators of every period: only those of
periods ending on or after the earliest day that delivery lists (sql/reporting/month_since.sql
says which days count, and why). So a build compares the audit with the one the last build saw
(derived.built_deliveries) and takes, over the centre-months that differ, the earliest of

- the first day of the month,
- the `since` day of the version the last build read (derived.month_since, kept by that build),
- the `since` day of the rows in core now.

Every indicator row of a period ending on or after that day is recomputed, for every scope (the
ALL-centres rows read every centre); the rows of earlier periods are kept as they are. Everything
is recomputed when what the last build was made from is unknown or different in any other way:
the code and SQL, the reference data, today's date (sos_pipeline/warehouse/state.py,
`context_fingerprint`). tests/test_incremental_indicators.py checks, refresh after refresh,
that the result is the full build's, row for row.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sos_pipeline.warehouse.db import sql, statements

CONTEXT = "indicators_context"      # derived.build_state step: what the last build was made from


@dataclass(frozen=True)
class Plan:
    """`since` None: every period. `months`: the centre-months that changed (None: unknown)."""
    since: dt.date | None
    months: int | None
    why: str

    @property
    def full(self) -> bool:
        return self.since is None


def _has(con, table: str) -> bool:
    schema, name = table.split(".")
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                            [schema, name]).fetchone()[0])


def plan(con, context: str, stored_context: str | None) -> Plan:
    """What this build must recompute, given the context fingerprint now and the one last stored."""
    if stored_context != context:
        return Plan(None, None, "first build, or the code, SQL, reference data or day changed: every period")
    if not (_has(con, "derived.built_deliveries") and _has(con, "derived.month_since")):
        return Plan(None, None, "no record of what the last build read: every period")
    changed = con.execute(sql("reporting/changed_months")).fetchall()
    if not changed:
        return Plan(dt.date.max, 0, "no delivery of a known centre-month changed: nothing to recompute")
    con.execute("CREATE OR REPLACE TEMP TABLE changed_months (centre VARCHAR, month DATE)")
    con.executemany("INSERT INTO changed_months VALUES (?, ?)", changed)
    old = con.execute("SELECT min(s.since) FROM derived.month_since s "
                      "JOIN changed_months USING (centre, month)").fetchone()[0]
    new = con.execute(f"SELECT min(s.since) FROM ({sql('reporting/month_since')}) s "
                      "JOIN changed_months USING (centre, month)").fetchone()[0]
    since = min(d for d in (old, new, min(m for _, m in changed)) if d is not None)
    con.execute("DROP TABLE changed_months")
    return Plan(since, len(changed), f"{len(changed)} centre-month(s) changed since the last build")


def record(con) -> None:
    """Keep what this build read (call inside the build's last transaction)."""
    for stmt in statements(sql("reporting/build_record", month_since=sql("reporting/month_since"))):
        con.execute(stmt)
