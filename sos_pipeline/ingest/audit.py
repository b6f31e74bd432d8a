"""Every write to the audit (audit.deliveries, audit.findings), in one place; the SQL is in sql/audit/.

A delivery's audit row says what became of it: accepted, rejected, superseded (an accepted
version replaced by a correction) or unchanged (an identical re-delivery). Intake and the
loader both record through these functions, inside the caller's transaction.
"""
from __future__ import annotations

import datetime as dt
import os

from sos_pipeline.findings import WARNING, Finding
from sos_pipeline.warehouse.db import sql

STATUSES = ("accepted", "superseded", "unchanged", "rejected")


def now() -> dt.datetime:
    """UTC, as the audit records it (received_at, processed_at). SOS_NOW=<ISO time, UTC> sets it,
    as SOS_TODAY sets the day: for tests and demos of due days and on-time delivery."""
    override = os.environ.get("SOS_NOW")
    if override:
        return dt.datetime.fromisoformat(override).replace(tzinfo=None, microsecond=0)
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def record(con, *, delivery: str, centre: str | None, month: dt.date | None, received_at: dt.datetime,
           sha: str, status: str, reason: str | None = None, form: str | None = None,
           rows_loaded: int | None = None, warnings: int | None = None,
           archive_path: str | None = None) -> None:
    con.execute(sql("audit/record_delivery"), {
        "delivery": delivery, "centre": centre, "month": month, "received_at": received_at,
        "sha256": sha, "status": status, "reason": reason, "form": form, "processed_at": now(),
        "rows_loaded": rows_loaded, "warnings": warnings, "archive_path": archive_path})


def record_findings(con, delivery: str, sha: str, findings: list[Finding]) -> None:
    at = now()
    rows = [[delivery, sha, f.rule, f.severity, f.table, f.column, f.count or len(f.rows),
             list(f.rows[:50]), f.message, at] for f in findings]
    if rows:
        con.executemany(sql("audit/record_finding"), rows)


def current(con, centre: str, month: dt.date):
    """(sha256, archive_path, received_at, delivery, form) of the accepted version, or None."""
    rows = con.execute(sql("audit/current"), {"centre": centre, "month": month}).fetchall()
    return rows[0] if rows else None


def rejected_before(con, delivery: str, sha: str, received_at: dt.datetime) -> bool:
    return con.execute(sql("audit/rejected_before"), {
        "delivery": delivery, "sha256": sha, "received_at": received_at}).fetchall()[0][0] > 0


def record_rejected(con, *, delivery, centre, month, received_at, sha, reason, form, archive_path,
                    findings: list[Finding]) -> None:
    """A rejected delivery and its findings; once only, if a killed run is repeated."""
    if not rejected_before(con, delivery, sha, received_at):
        record(con, delivery=delivery, centre=centre, month=month, received_at=received_at, sha=sha,
               status="rejected", reason=reason, form=form, archive_path=archive_path)
        record_findings(con, delivery, sha, findings)


def record_accepted(con, *, delivery, centre, month, received_at, sha, form, rows_loaded,
                    archive_path, findings: list[Finding]) -> str | None:
    """An accepted delivery with its warnings; the version it replaces becomes superseded.
    Returns the name of the superseded delivery, if any. Nothing is written when this very
    version is already the accepted one (a repeated run)."""
    cur = current(con, centre, month)
    if cur is not None and cur[0] == sha:
        return None
    warnings = [f for f in findings if f.severity == WARNING]
    if cur is not None:
        con.execute(sql("audit/supersede"), {
            "reason": f"replaced by the correction received {received_at:%Y-%m-%d %H:%M} (sha256 {sha[:12]})",
            "processed_at": now(), "centre": centre, "month": month})
    record(con, delivery=delivery, centre=centre, month=month, received_at=received_at, sha=sha,
           status="accepted", form=form, rows_loaded=rows_loaded, warnings=len(warnings),
           archive_path=archive_path)
    record_findings(con, delivery, sha, warnings)
    return cur[3] if cur is not None else None


def run_counts(con, since: dt.datetime) -> dict[str, int]:
    """Deliveries by status among the audit rows written or changed since `since` (a run's start)."""
    got = dict(con.execute(sql("audit/run_counts"), {"since": since}).fetchall())
    return {s: got.get(s, 0) for s in STATUSES}
