"""The steps of loading a delivery, as plain functions the Dagster assets call.

screen_inbox  -> archive every inbox entry, reject bad names, queue the rest
stage         -> read one queued delivery of a centre-month into staging (pseudonymised)
validate      -> run the validation suites on the staged rows
reject        -> quarantine report, audit row, staging cleared (core untouched)
load_core     -> replace the centre-month in core, in one transaction
"""
from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field

import pandas as pd

from sos_pipeline import config, contract
from sos_pipeline.config import Paths
from sos_pipeline.faults import pause_point
from sos_pipeline.findings import ERROR, WARNING, Finding
from sos_pipeline.ingest import intake
from sos_pipeline.ingest.reader import read_delivery_safely
from sos_pipeline.ingest.report import summary
from sos_pipeline.reference import Reference
from sos_pipeline.warehouse.db import connect, sql, statements, transaction


def _now() -> dt.datetime:
    """UTC, as the audit records it (received_at, processed_at). SOS_NOW=<ISO time, UTC> sets it,
    as SOS_TODAY sets the day: for tests and demos of due days and on-time delivery."""
    override = os.environ.get("SOS_NOW")
    if override:
        return dt.datetime.fromisoformat(override).replace(tzinfo=None, microsecond=0)
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def _audit(con, *, delivery, centre, month, received_at, sha, status, reason=None, form=None,
           rows_loaded=None, warnings=None, archive_path=None):
    con.execute("INSERT INTO audit.deliveries VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [delivery, centre, month, received_at, sha, status, reason, form, _now(),
                 rows_loaded, warnings, archive_path])


def _record_findings(con, delivery, sha, findings):
    rows = [[delivery, sha, f.rule, f.severity, f.table, f.column, f.count or len(f.rows),
             list(f.rows[:50]), f.message, _now()] for f in findings]
    if rows:
        con.executemany("INSERT INTO audit.findings VALUES (?,?,?,?,?,?,?,?,?,?)", rows)


def _current(con, centre, month):
    """(sha256, archive_path, received_at, delivery, form) of the accepted version, or None."""
    return con.execute(
        "SELECT sha256, archive_path, received_at, delivery, form FROM audit.deliveries "
        "WHERE centre = ? AND month = ? AND status = 'accepted' ORDER BY processed_at DESC LIMIT 1",
        [centre, month]).fetchone()


# ------------------------------------------------------------------ intake

def screen_inbox(paths: Paths, ref: Reference) -> list[intake.IntakeOutcome]:
    """Take every entry out of the inbox: archive it, then reject, drop as unchanged, or queue."""
    paths.ensure()
    outcomes = []
    with connect(paths) as con:
        queued = {(p.delivery, p.sha256) for p in intake.pending_list(paths)}
        for n, entry in enumerate(intake.inbox_entries(paths)):
            received = _now()
            stem, centre, month, problem = intake.check_name(entry, ref)
            try:
                sha = intake.sha256_of(entry)
                if stem == intake.WITHHELD:     # the name holds personal data: never repeated
                    stem = intake.withheld_name(sha)
                arch = intake.archive(paths, entry, stem, sha, received)
            except Exception as exc:  # noqa: BLE001 - one entry never fails the run; it stays in the inbox
                why = (exc.strerror if isinstance(exc, OSError) else None) or type(exc).__name__
                outcomes.append(intake.IntakeOutcome(
                    stem, "", "rejected", f"cannot be read or archived ({why}); it stays in the inbox"))
                continue
            rel = arch.relative_to(paths.data).as_posix()
            form = intake.delivery_form(entry)
            if problem:
                intake.write_quarantine(paths, stem, sha, [problem], arch, received.isoformat())
                with transaction(con):
                    _audit(con, delivery=stem, centre=centre if centre in ref.centres else None,
                           month=month if centre in ref.centres else None, received_at=received, sha=sha,
                           status="rejected", reason=summary([problem]), form=form, archive_path=rel)
                    _record_findings(con, stem, sha, [problem])
                outcomes.append(intake.IntakeOutcome(stem, sha, "rejected", summary([problem]),
                                                     centre, None, (problem,)))
            elif (cur := _current(con, centre, month)) and cur[0] == sha:
                _audit(con, delivery=stem, centre=centre, month=month, received_at=received, sha=sha,
                       status="unchanged", reason="identical to the accepted version", form=form,
                       archive_path=rel)
                outcomes.append(intake.IntakeOutcome(stem, sha, "unchanged", "", centre, f"{month:%Y-%m}"))
            elif (stem, sha) in queued:
                outcomes.append(intake.IntakeOutcome(stem, sha, "unchanged", "already queued",
                                                     centre, f"{month:%Y-%m}"))
            else:
                seq = f"{received:%Y%m%dT%H%M%S}-{n:05d}-{sha[:8]}"
                intake.add_pending(paths, intake.Pending(stem, centre, f"{month:%Y-%m}", sha,
                                                         received.isoformat(), rel, form, seq))
                queued.add((stem, sha))
                outcomes.append(intake.IntakeOutcome(stem, sha, "pending", "", centre, f"{month:%Y-%m}"))
            intake.remove_from_inbox(entry)
            pause_point("ingest")
    return outcomes


# ------------------------------------------------------------------ staging

@dataclass
class Staged:
    partition: str
    delivery: str
    sha256: str
    form: str
    findings: list[Finding] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    reload: bool = False

    @property
    def readable(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)


def _split(partition: str) -> tuple[str, dt.date]:
    centre, month = partition.split("|")
    return centre, dt.date.fromisoformat(month + "-01")


def _next_for(paths: Paths, con, partition: str) -> tuple[intake.Pending | None, bool]:
    queue = intake.pending_for(paths, partition)
    if queue:
        return queue[0], False
    centre, month = _split(partition)
    cur = _current(con, centre, month)
    if cur is None:
        return None, False
    sha, arch, received, delivery, form = cur
    return intake.Pending(delivery, centre, f"{month:%Y-%m}", sha, received.isoformat(), arch,
                          form or "", "reload"), True


def stage(paths: Paths, ref: Reference, partition: str, key: bytes | None = None) -> Staged | None:
    """Read the next queued delivery of this centre-month (or re-read the accepted one) into staging."""
    key = key or config.pseudonym_key()
    centre, month = _split(partition)
    with connect(paths) as con:
        item, reload = _next_for(paths, con, partition)
        if item is None:
            return None
        delivery = read_delivery_safely(paths.data / item.archive_path, centre, key)
        staged = Staged(partition, item.delivery, item.sha256, delivery.form, delivery.findings,
                        delivery.row_counts, reload)
        with transaction(con):
            for t in contract.TABLES:
                con.execute(f"DELETE FROM staging.{t} WHERE centre = ? AND month = ?", [centre, month])
            con.execute("DELETE FROM staging.deliveries WHERE centre = ? AND month = ?", [centre, month])
            if staged.readable:
                for name, frame in delivery.tables.items():
                    _insert_staging(con, name, frame, centre, month, item.sha256)
            con.execute("INSERT INTO staging.deliveries VALUES (?,?,?,?,?,?,?,?,?)",
                        [centre, month, item.delivery, item.sha256,
                         dt.datetime.fromisoformat(item.received_at), delivery.form, item.archive_path,
                         item.seq, json.dumps([f.as_dict() for f in delivery.findings])])
    return staged


def typed_columns(name: str) -> str:
    """SELECT list turning a parsed frame's contract columns into the core/staging types."""
    cols = []
    for c in contract.TABLES[name].columns:
        if c.kind == contract.CODE_LIST:
            cols.append(f"list_filter(list_transform(string_split(\"{c.name}\", ';'), lambda x: trim(x)), "
                        f"lambda x: x <> '') AS \"{c.name}\"")
        elif c.kind == contract.DATE:
            cols.append(f"CAST(\"{c.name}\" AS DATE)")
        else:
            cols.append(f"\"{c.name}\"")
    return ", ".join(cols)


def _insert_staging(con, name: str, frame: pd.DataFrame, centre: str, month: dt.date, sha: str):
    con.register("_frame", frame)
    try:
        con.execute(f"INSERT INTO staging.{name} SELECT ?, ?, ?, _row, {typed_columns(name)} FROM _frame",
                    [centre, month, sha])
    finally:
        con.unregister("_frame")


# ------------------------------------------------------------------ validation

def _staged_info(con, centre: str, month: dt.date) -> dict | None:
    row = con.execute("SELECT delivery, sha256, received_at, form, archive_path, pending_seq, "
                      "findings_json FROM staging.deliveries WHERE centre = ? AND month = ?",
                      [centre, month]).fetchone()
    if row is None:
        return None
    keys = ("delivery", "sha256", "received_at", "form", "archive_path", "pending_seq")
    info = dict(zip(keys, row[:6]))
    info["findings"] = [Finding(d["rule"], d["severity"], d["table"], d["column"], d["message"],
                                tuple(d["rows"]), d["count"]) for d in json.loads(row[6] or "[]")]
    return info


def staged_frames(con, centre: str, month: dt.date) -> dict[str, pd.DataFrame]:
    """The staged tables as the validator expects them: `_row` plus typed contract columns."""
    frames = {}
    for name, table in contract.TABLES.items():
        cols = ", ".join(f"array_to_string(\"{c.name}\", ';') AS \"{c.name}\""
                         if c.kind == contract.CODE_LIST else f"\"{c.name}\"" for c in table.columns)
        df = con.execute(f"SELECT source_row AS _row, {cols} FROM staging.{name} "
                         "WHERE centre = ? AND month = ? ORDER BY source_row", [centre, month]).df()
        for c in table.columns:
            if c.kind in (contract.INT, contract.YEAR):
                df[c.name] = df[c.name].astype("Int64")
            elif c.kind == contract.DATE:
                df[c.name] = pd.to_datetime(df[c.name]).astype("datetime64[us]")
            elif c.kind == contract.NUMBER:
                df[c.name] = df[c.name].astype("float64")
            else:
                df[c.name] = df[c.name].astype("object").where(df[c.name].notna(), None)
        df["_row"] = df["_row"].astype("int64")
        frames[name] = df
    return frames


def validation_context(con, ref: Reference, delivery: str, centre: str, month: dt.date):
    from sos_pipeline.validation.suites import DeliveryContext

    existing = {}
    for name, col in contract.CENTRE_UNIQUE_IDS.items():
        existing[name] = {r[0] for r in con.execute(
            f"SELECT DISTINCT {col} FROM core.{name} WHERE centre = ? AND month <> ?",
            [centre, month]).fetchall()}
    prev = con.execute("SELECT family_ref, enrolled_on, exited_on, month FROM core.families "
                       "WHERE centre = ? AND month < ?", [centre, month]).df()
    for c in ("enrolled_on", "exited_on", "month"):
        prev[c] = pd.to_datetime(prev[c]).astype("datetime64[us]")
    return DeliveryContext(delivery=delivery, centre=centre, month=month,
                           month_end=intake.month_end(month), projects=dict(ref.projects),
                           existing_ids=existing, previous_families=prev)


def validate(paths: Paths, ref: Reference, partition: str) -> dict[str, list[Finding]]:
    """Run every suite on the staged delivery. Structure/privacy findings come first."""
    from sos_pipeline.validation.suites import suite_names, validate_delivery_by_suite

    centre, month = _split(partition)
    with connect(paths) as con:
        info = _staged_info(con, centre, month)
        if info is None:
            raise LookupError(f"Nothing is staged for {partition}: materialise staged_delivery first.")
        results = {"structure_and_privacy": info["findings"]}
        if any(f.severity == ERROR for f in info["findings"]):
            results.update({s: [] for s in suite_names()})
            return results
        frames = staged_frames(con, centre, month)
        ctx = validation_context(con, ref, info["delivery"], centre, month)
        pause_point("validation")
    try:
        results.update(validate_delivery_by_suite(frames, ctx))
    except Exception:  # noqa: BLE001 - one delivery never breaks the run: it is rejected
        from sos_pipeline.ingest.batch import _check_failed

        results.update({s: [] for s in suite_names()})
        results["cross_table"] = [_check_failed()]
    return results


# ------------------------------------------------------------------ outcomes

def note_findings(paths: Paths, partition: str, findings: list[Finding]) -> None:
    """Keep every finding of a passing delivery with it, for the audit when it loads."""
    centre, month = _split(partition)
    with connect(paths) as con:
        con.execute("UPDATE staging.deliveries SET findings_json = ? WHERE centre = ? AND month = ?",
                    [json.dumps([f.as_dict() for f in findings]), centre, month])


def reject(paths: Paths, partition: str, findings: list[Finding]) -> str:
    """Quarantine the staged delivery; core stays exactly as it was."""
    centre, month = _split(partition)
    reason = summary(findings)
    with connect(paths) as con:
        info = _staged_info(con, centre, month)
        intake.write_quarantine(paths, info["delivery"], info["sha256"], findings,
                                paths.data / info["archive_path"], info["received_at"].isoformat())
        with transaction(con):
            for t in contract.TABLES:
                con.execute(f"DELETE FROM staging.{t} WHERE centre = ? AND month = ?", [centre, month])
            con.execute("DELETE FROM staging.deliveries WHERE centre = ? AND month = ?", [centre, month])
            recorded = con.execute(  # idempotent if a killed run is repeated
                "SELECT count(*) FROM audit.deliveries WHERE delivery = ? AND sha256 = ? AND "
                "received_at = ? AND status = 'rejected'",
                [info["delivery"], info["sha256"], info["received_at"]]).fetchone()[0]
            if info["pending_seq"] != "reload" and not recorded:
                _audit(con, delivery=info["delivery"], centre=centre, month=month,
                       received_at=info["received_at"], sha=info["sha256"], status="rejected",
                       reason=reason, form=info["form"], archive_path=info["archive_path"])
                _record_findings(con, info["delivery"], info["sha256"], findings)
    _drop_queued(paths, info)
    return reason


def _drop_queued(paths: Paths, info) -> None:
    for p in intake.pending_list(paths):
        if p.seq == info["pending_seq"]:
            intake.drop_pending(paths, p)


def load_core(paths: Paths, partition: str) -> tuple[dict, dict[str, int]]:
    """Replace the centre-month in core by the staged delivery, in one transaction.

    Returns what was staged (delivery, sha256, findings, ...) and the rows loaded per table.
    The delivery's warnings, noted by the checks, go into audit.findings with it.
    """
    centre, month = _split(partition)
    with connect(paths) as con:
        info = _staged_info(con, centre, month)
        if info is None:
            raise LookupError(f"Nothing is staged for {partition} (was it rejected?).")
        warnings = [f for f in info["findings"] if f.severity == WARNING]
        counts = {t: con.execute(f"SELECT count(*) FROM staging.{t} WHERE centre = ? AND month = ?",
                                 [centre, month]).fetchone()[0] for t in contract.TABLES}
        cur = _current(con, centre, month)
        with transaction(con):
            for t in contract.TABLES:
                for stmt in statements(sql("load/replace_centre_month", table=t)):
                    con.execute(stmt, {"centre": centre, "month": month})
            pause_point("core")
            con.execute("DELETE FROM staging.deliveries WHERE centre = ? AND month = ?", [centre, month])
            if info["pending_seq"] != "reload":
                if cur is not None and cur[0] != info["sha256"]:
                    con.execute("UPDATE audit.deliveries SET status = 'superseded', reason = ?, "
                                "processed_at = ? WHERE centre = ? AND month = ? AND status = 'accepted'",
                                [f"replaced by the correction received {info['received_at']:%Y-%m-%d %H:%M} "
                                 f"(sha256 {info['sha256'][:12]})", _now(), centre, month])
                if cur is None or cur[0] != info["sha256"]:
                    _audit(con, delivery=info["delivery"], centre=centre, month=month,
                           received_at=info["received_at"], sha=info["sha256"], status="accepted",
                           form=info["form"], rows_loaded=sum(counts.values()),
                           warnings=len(warnings), archive_path=info["archive_path"])
                    _record_findings(con, info["delivery"], info["sha256"], warnings)
    _drop_queued(paths, info)
    return info, counts
