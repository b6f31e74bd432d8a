"""Every write to the audit (audit.deliveries, audit.findings), in one place; the SQL is in sql/audit/.

A delivery's audit row says what became of it: accepted, rejected, superseded (an accepted
version replaced by a correction) or unchanged (an identical re-delivery). Intake and the
loader both record through these functions, inside the caller's transaction.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import pandas as pd

from sos_pipeline.findings import WARNING, Finding
from sos_pipeline.warehouse.db import registered, sql

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
    _insert_deliveries(con, [{
        "delivery": delivery, "centre": centre, "month": month, "received_at": received_at,
        "sha256": sha, "status": status, "reason": reason, "form": form, "processed_at": now(),
        "rows_loaded": rows_loaded, "warnings": warnings, "archive_path": archive_path}])


def _insert_deliveries(con, rows: list[dict]) -> None:
    """Rows of audit.deliveries (sql/audit/record_deliveries.sql), one statement for them all."""
    if rows:
        with registered(con, audit_rows=pd.DataFrame(rows, dtype=object)):
            con.execute(sql("audit/record_deliveries"))


def record_findings(con, findings_of: list[tuple[str, str, list[Finding]]]) -> None:
    """The findings of deliveries, given as (delivery, sha256, findings)."""
    at = now()
    rows = [[delivery, sha, f.rule, f.severity, f.table, f.column, f.count or len(f.rows),
             list(f.rows[:50]), f.message, at] for delivery, sha, findings in findings_of for f in findings]
    if rows:
        con.executemany(sql("audit/record_finding"), rows)


def accepted_versions(con) -> dict[tuple[str, dt.date], str]:
    """(centre, month) -> sha256 of the accepted version, for every centre-month."""
    return {(c, m): sha for c, m, sha in con.execute(sql("audit/accepted")).fetchall()}


def rejected_before(con, delivery: str, sha: str, received_at: dt.datetime) -> bool:
    return con.execute(sql("audit/rejected_before"), {
        "delivery": delivery, "sha256": sha, "received_at": received_at}).fetchall()[0][0] > 0


def record_rejected(con, *, delivery, centre, month, received_at, sha, reason, form, archive_path,
                    findings: list[Finding]) -> None:
    """A rejected delivery and its findings; once only, if a killed run is repeated."""
    if not rejected_before(con, delivery, sha, received_at):
        record(con, delivery=delivery, centre=centre, month=month, received_at=received_at, sha=sha,
               status="rejected", reason=reason, form=form, archive_path=archive_path)
        record_findings(con, [(delivery, sha, findings)])


def record_accepted(con, *, delivery, centre, month, received_at, sha, form, rows_loaded,
                    archive_path, findings: list[Finding]) -> str | None:
    """An accepted delivery with its warnings (record_accepted_many of one)."""
    return record_accepted_many(con, [Accepted(delivery, centre, month, received_at, sha, form,
                                               rows_loaded, archive_path, findings)])[0]


@dataclass
class Accepted:
    delivery: str
    centre: str
    month: dt.date
    received_at: dt.datetime
    sha: str
    form: str
    rows_loaded: int
    archive_path: str
    findings: list[Finding]


def _supersede_reason(a: Accepted) -> str:
    return f"replaced by the correction received {a.received_at:%Y-%m-%d %H:%M} (sha256 {a.sha[:12]})"


def record_accepted_many(con, accepted: list[Accepted]) -> list[str | None]:
    """Accepted deliveries with their warnings, in queue order, as recording them one by one
    would: the version each replaces becomes superseded (a correction of a correction in the
    same list supersedes the first), and nothing is written for a version that is already the
    accepted one (a repeated run). Returns, for each, the name of the delivery it superseded,
    if any. A few statements for the whole list, not several per delivery."""
    if not accepted:
        return []
    at = now()
    keys = pd.DataFrame({"centre": [a.centre for a in accepted], "month": [a.month for a in accepted]}
                        ).drop_duplicates()
    with registered(con, audit_keys=keys):
        current = {(c, m): (sha, name) for c, m, sha, name in con.execute(sql("audit/current_many")).fetchall()}
    out: list[str | None] = []
    written: list[Accepted] = []
    superseded: dict[tuple, str] = {}              # stored accepted rows, by the first correction
    written_keys: set[tuple] = set()
    for a in accepted:
        key = (a.centre, a.month)
        cur = current.get(key)
        if cur is not None and cur[0] == a.sha:
            out.append(None)
            continue
        if cur is not None and key not in superseded and key not in written_keys:
            superseded[key] = _supersede_reason(a)     # the stored version, by the first correction
        out.append(cur[1] if cur is not None else None)
        current[key] = (a.sha, a.delivery)
        written.append(a)
        written_keys.add(key)
    status, reason = [], []
    following: dict[tuple, Accepted] = {}           # the next version of the same centre-month
    later: list[Accepted | None] = []
    for a in reversed(written):
        later.append(following.get((a.centre, a.month)))
        following[(a.centre, a.month)] = a
    for b in reversed(later):                       # replaced later in this list: superseded
        status.append("accepted" if b is None else "superseded")
        reason.append(None if b is None else _supersede_reason(b))
    sup = pd.DataFrame({"centre": [k[0] for k in superseded], "month": [k[1] for k in superseded],
                        "reason": list(superseded.values()), "processed_at": [at] * len(superseded)},
                       dtype=object)
    if len(sup):
        with registered(con, audit_superseded=sup):
            con.execute(sql("audit/supersede_many"))
    _insert_deliveries(con, [{
        "delivery": a.delivery, "centre": a.centre, "month": a.month, "received_at": a.received_at,
        "sha256": a.sha, "status": st, "reason": why, "form": a.form, "processed_at": at,
        "rows_loaded": a.rows_loaded, "warnings": sum(f.severity == WARNING for f in a.findings),
        "archive_path": a.archive_path} for a, st, why in zip(written, status, reason)])
    record_findings(con, [(a.delivery, a.sha, [f for f in a.findings if f.severity == WARNING])
                          for a in written])
    return out


def run_counts(con, since: dt.datetime) -> dict[str, int]:
    """Deliveries by status among the audit rows written or changed since `since` (a run's start)."""
    got = dict(con.execute(sql("audit/run_counts"), {"since": since}).fetchall())
    return {s: got.get(s, 0) for s in STATUSES}
