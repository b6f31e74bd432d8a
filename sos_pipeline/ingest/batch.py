"""The one loading path: what a refresh, the sensor, the schedule and the UI run
(defs/ingest.py's `load_deliveries`), over the whole queue or the centre-months picked.

Loading deliveries one Dagster run at a time costs about 1.8 s each, most of it fixed
cost (run bookkeeping, then Great Expectations' ~0.5 s per suite run whatever its size),
so the queue is loaded in chunks of many deliveries instead:

1. read      the next chunk of the queue, in queue order (reader: dialects, privacy gate,
             pseudonyms). A delivery that cannot be read is rejected at once.
2. validate  the whole chunk at once: its rows are staged in DuckDB, each suite's frame is
             one query (validation/frames.py) and GX runs each suite once. Each delivery
             is checked against its centre's other months as they will be when the
             deliveries queued before it are loaded: core, overlaid with the chunk's
             earlier deliveries of that centre (sql/validation/history.sql).
3. settle    per centre, the deliveries before its first failing one are accepted and that
             one is rejected; the ones after it assumed it would be loaded, so they are
             validated again, in the next round, against what was really loaded.
4. load      the round's accepted deliveries into core in one transaction (the last
             version of each centre-month; the earlier one is recorded as superseded),
             with their audit rows, then drop them from the queue.

The outcome is the one loading the deliveries one by one in queue order would give:
a delivery's checks only ever look at its own centre's months, and a rejected delivery
is never part of what a later one is checked against. Killed at any point, nothing is
half loaded (each round is one transaction) and the queue still holds whatever was not
settled; a settled delivery seen again (killed between commit and dropping it from the
queue) is recognised by its sha256 and not recorded twice.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sos_pipeline import config, contract
from sos_pipeline.config import Paths
from sos_pipeline.faults import pause_point
from sos_pipeline.findings import ERROR, WARNING, Finding
from sos_pipeline.ingest import audit, intake
from sos_pipeline.ingest.reader import Delivery, read_delivery_safely
from sos_pipeline.ingest.report import summary
from sos_pipeline.reference import Reference
from sos_pipeline.validation.rules import CROSS_TABLE as R_CROSS
from sos_pipeline.validation.rules import READER_SUITE as STRUCTURE
from sos_pipeline.warehouse.db import connect, sql, statements, transaction, writer_lock




@dataclass
class Item:
    pending: intake.Pending
    delivery: Delivery
    findings: list[Finding] = field(default_factory=list)     # reader's + the suites'
    status: str = ""                                          # accepted / rejected
    reason: str = ""
    rows: int = 0
    by_suite: dict[str, list[Finding]] = field(default_factory=dict)   # the suites' findings
    superseded: str | None = None                             # the accepted version it replaced

    @property
    def month(self) -> dt.date:
        return self.pending.month_date

    @property
    def centre(self) -> str:
        return self.pending.centre


@dataclass
class Outcome:
    delivery: str
    partition: str
    sha256: str
    status: str                 # accepted, rejected
    reason: str = ""
    rows: int = 0
    warnings: int = 0
    rules: tuple[str, ...] = ()
    centre: str = ""
    month: str = ""                 # YYYY-MM
    table_rows: dict[str, int] = field(default_factory=dict)
    suites: dict[str, list[Finding]] = field(default_factory=dict)   # suite -> its findings
    superseded: str | None = None   # accepted: the delivery it replaced, if any
    form: str = ""


@dataclass
class QueueResult:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    chunks: int = 0
    rounds: int = 0
    suite_findings: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)


def _tick(result: QueueResult, phase: str, since: float) -> float:
    now = time.perf_counter()
    result.seconds[phase] = round(result.seconds.get(phase, 0.0) + now - since, 3)
    return now


def load_queue(paths: Paths, ref: Reference, key: bytes | None = None, log=None,
               chunk_rows: int | None = None, partitions: list[str] | None = None) -> QueueResult:
    """Load everything queued (intake.pending_list), chunk by chunk; with `partitions`
    ("BAU|2026-09", ...), only what is queued for those centre-months. See the module docstring."""
    key = key or config.pseudonym_key()
    chunk_rows = chunk_rows or config.chunk_rows()
    result = QueueResult()
    with writer_lock(paths):        # the queue is this run's alone until it is settled
        queue = intake.pending_list(paths)
        if partitions is not None:
            wanted = set(partitions)
            queue = [p for p in queue if p.partition in wanted]
        _load(paths, ref, key, log, chunk_rows, result, queue)
    return result


def _load(paths: Paths, ref: Reference, key: bytes, log, chunk_rows: int, result: QueueResult,
          queue: list[intake.Pending]) -> None:
    while queue:
        t = time.perf_counter()
        chunk, rows = [], 0
        while queue and (not chunk or rows < chunk_rows):
            p = queue.pop(0)
            item = Item(p, read_delivery_safely(paths.data / p.archive_path, p.centre, key))
            item.rows = sum(item.delivery.row_counts.values())
            item.findings = list(item.delivery.findings)
            rows += item.rows
            chunk.append(item)
        t = _tick(result, "read", t)
        result.chunks += 1
        if log:
            log(f"chunk {result.chunks}: {len(chunk)} deliveries, {rows:,} rows read")
        _settle_chunk(paths, ref, chunk, result, log)


def _settle_chunk(paths: Paths, ref: Reference, chunk: list[Item], result: QueueResult, log) -> None:
    unreadable = [i for i in chunk if not i.delivery.ok]
    for i in unreadable:
        i.status, i.reason = "rejected", summary(i.findings)
    _record(paths, [], unreadable, result)
    remaining = [i for i in chunk if i.delivery.ok]
    while remaining:
        result.rounds += 1
        t = time.perf_counter()
        checked = _validate_round(paths, ref, remaining, result, t)
        t = _tick(result, "validate", t)
        for item, by_suite in zip(remaining, checked):
            if by_suite is None:            # checking this delivery itself failed
                by_suite = {R_CROSS: [_check_failed()]}
            else:
                for suite, fs in by_suite.items():
                    tally = result.suite_findings.setdefault(suite, {"errors": 0, "warnings": 0})
                    tally["errors"] += sum(f.severity == ERROR for f in fs)
                    tally["warnings"] += sum(f.severity == WARNING for f in fs)
            item.by_suite = by_suite
            item.findings = list(item.delivery.findings) + [f for fs in by_suite.values() for f in fs]
        accepted, rejected, again = [], [], []
        failed_centres: set[str] = set()
        for item in remaining:                      # queue order
            if item.centre in failed_centres:
                again.append(item)
            elif any(f.severity == ERROR for f in item.findings):
                item.status, item.reason = "rejected", summary(item.findings)
                rejected.append(item)
                failed_centres.add(item.centre)
            else:
                item.status = "accepted"
                accepted.append(item)
        again += _record_isolating(paths, accepted, rejected, result)
        _tick(result, "load", t)
        if log and again:
            log(f"round {result.rounds}: {len(rejected)} rejected; {len(again)} later deliveries of "
                "the same centres are checked again without them")
        remaining = again


def _validate_round(paths: Paths, ref: Reference, items: list[Item], result: QueueResult,
                    t: float) -> list[dict | None]:
    """The suites' findings of each item, checked against its centre's months as they will be
    once the items before it are loaded: the items are staged on the working warehouse and each
    suite's frame is one query over all of them (validation/frames.py); GX runs each suite once."""
    from sos_pipeline.validation import frames as F
    from sos_pipeline.validation.suites import run_suites, suite_inputs

    def inputs(ok: list[int]):
        with connect(paths) as con:
            F.stage(con, [_stage_item(items[n]) for n in ok], ref.projects)
            F.stage_history(con)
            pause_point("validation")
            return suite_inputs(con, ref.projects)

    ok = list(range(len(items)))
    try:
        stacked, params = inputs(ok)
    except _value_errors():             # a delivery whose values do not fit: find it, check the rest
        ok = [n for n in ok if _stageable(items[n])]
        stacked, params = inputs(ok)
    _tick(result, "stage", t)
    # _delivery of the staged items is their index in `ok`
    checked = _validate_isolating(lambda group: run_suites(stacked, params, group), list(range(len(ok))))
    out: list[dict | None] = [None] * len(items)
    for n, by_suite in zip(ok, checked):
        out[n] = by_suite
    return out


def _stage_item(item: Item):
    return item.delivery.tables, item.centre, item.month, intake.month_end(item.month)


def _stageable(item: Item) -> bool:
    """Whether the item's rows can be staged (its values fit their columns). Tried alone in an
    in-memory database, so one bad delivery never stops the others being checked."""
    import duckdb

    con = duckdb.connect()
    try:
        from sos_pipeline.validation import frames as F

        F.stage(con, [_stage_item(item)], {})
        return True
    except Exception:  # noqa: BLE001 - the delivery is rejected (validation.check_failed)
        return False
    finally:
        con.close()


# ------------------------------------------------------------------ one delivery never fails the run

def _check_failed() -> Finding:
    return Finding("validation.check_failed", ERROR, None, None,
                   "Checking this delivery failed unexpectedly, so it could not be accepted. It was "
                   "rejected so that the other deliveries could load. Export it again and re-send; if "
                   "it happens again, tell the pipeline administrator.", (), 1)


def _validate_isolating(validate, items: list) -> list:
    """validate(items), where a delivery whose checking raises gets None instead of failing the
    whole batch: the batch is halved until the failing deliveries are found (a few GX runs for
    one bad delivery among hundreds). When every delivery of a batch of several fails alone, the
    validator itself is broken: that is raised, and the queue stays as it is."""
    def run(group: list) -> list:
        try:
            return validate(group)
        except Exception:  # noqa: BLE001 - isolated below
            if len(group) == 1:
                return [None]
            mid = len(group) // 2
            return run(group[:mid]) + run(group[mid:])

    try:
        return validate(items)
    except Exception:
        if len(items) == 1:
            return [None]
        out = run(items[: len(items) // 2]) + run(items[len(items) // 2:])
        if all(x is None for x in out):
            raise
        return out


# DuckDB errors that come from a delivery's values (a number too large for its column, ...):
# they reject that delivery. Anything else (disk full, I/O) fails the run, as it should.
def _value_errors() -> tuple[type[BaseException], ...]:
    import duckdb

    return (duckdb.ConversionException, duckdb.OutOfRangeException, duckdb.ConstraintException,
            duckdb.InvalidInputException, duckdb.TypeMismatchException, ValueError, TypeError)


def _load_failed() -> Finding:
    return Finding("structure.load_failed", ERROR, None, None,
                   "The delivery passed its checks but could not be stored: a value does not fit its "
                   "column in the warehouse. It was rejected so that the other deliveries could "
                   "load; the warehouse is unchanged. Check the numbers and dates of the delivery "
                   "and re-send; if it happens again, tell the pipeline administrator.", (), 1)


def _record_isolating(paths: Paths, accepted: list[Item], rejected: list[Item],
                      result: QueueResult) -> list[Item]:
    """_record, where an accepted delivery that cannot be stored is rejected instead of failing
    the run. Returns the deliveries to check again: those of its centre queued after it (they
    were checked assuming it would load)."""
    try:
        _record(paths, accepted, rejected, result)
        return []
    except _value_errors():
        pass
    _record(paths, [], rejected, result)            # each round is one transaction: redo it
    again: list[Item] = []
    failed: set[str] = set()
    for item in accepted:                            # queue order
        if item.centre in failed:
            again.append(item)
            continue
        try:
            _record(paths, [item], [], result)
        except _value_errors():
            item.status = "rejected"
            item.findings = [*item.findings, _load_failed()]
            item.reason = summary(item.findings)
            _record(paths, [], [item], result)
            failed.add(item.centre)
    return again


# ------------------------------------------------------------------ recording outcomes

def _record(paths: Paths, accepted: list[Item], rejected: list[Item], result: QueueResult) -> None:
    """Rejected: quarantine + audit. Accepted: core replaced per centre-month + audit. One
    transaction; the queue entries are dropped after it commits."""
    if not accepted and not rejected:
        return
    for item in rejected:                           # files first: they are idempotent
        p = item.pending
        intake.write_quarantine(paths, p.delivery, p.sha256, item.findings,
                                paths.data / p.archive_path, p.received_at)
    with connect(paths) as con:
        with transaction(con):
            for item in rejected:
                _audit_rejected(con, item)
            if accepted:
                _replace_core(con, accepted)
                for item in accepted:
                    _audit_accepted(con, item)
            pause_point("core")
    for item in [*accepted, *rejected]:
        intake.drop_pending(paths, item.pending)
        p = item.pending
        # the reader's findings and what storing found (structure.load_failed), then each suite's
        by_suites = {id(f) for fs in item.by_suite.values() for f in fs}
        suites = {STRUCTURE: [f for f in item.findings if id(f) not in by_suites], **item.by_suite}
        result.outcomes.append(Outcome(
            p.delivery, p.partition, p.sha256, item.status, item.reason,
            item.rows, sum(f.severity == WARNING for f in item.findings),
            tuple(dict.fromkeys(f.rule for f in item.findings if f.severity == ERROR)),
            centre=p.centre, month=p.month, table_rows=dict(item.delivery.row_counts), suites=suites,
            superseded=item.superseded, form=item.delivery.form))


def _audit_rejected(con, item: Item) -> None:
    p = item.pending
    audit.record_rejected(con, delivery=p.delivery, centre=p.centre, month=p.month_date,
                          received_at=dt.datetime.fromisoformat(p.received_at), sha=p.sha256,
                          reason=item.reason, form=item.delivery.form, archive_path=p.archive_path,
                          findings=item.findings)


def _audit_accepted(con, item: Item) -> None:
    p = item.pending
    item.superseded = audit.record_accepted(
        con, delivery=p.delivery, centre=p.centre, month=p.month_date,
        received_at=dt.datetime.fromisoformat(p.received_at), sha=p.sha256, form=item.delivery.form,
        rows_loaded=item.rows, archive_path=p.archive_path, findings=item.findings)


def typed_columns(name: str) -> str:
    """SELECT list turning a parsed frame's contract columns into core's types."""
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


def _replace_core(con, accepted: list[Item]) -> None:
    """The last accepted version of each centre-month replaces that centre-month in core."""
    last: dict[tuple[str, dt.date], Item] = {}
    for item in accepted:
        last[(item.centre, item.month)] = item
    keys = pd.DataFrame({"centre": [c for c, _ in last], "month": [m for _, m in last]})
    con.register("batch_keys", keys)
    try:
        for name in contract.TABLES:
            # One concatenation per table, then the centre, month and sha256 of each delivery's
            # rows as whole columns (copying and widening each delivery's frame cost ~1 ms each).
            frames, centres, months, shas = [], [], [], []
            for (c, m), item in last.items():
                f = item.delivery.tables[name]
                if len(f):
                    frames.append(f)
                    centres.append(c)
                    months.append(m)
                    shas.append(item.pending.sha256)
            rows = None
            if frames:
                n = np.array([len(f) for f in frames])
                rows = pd.concat(frames, ignore_index=True)
                rows.insert(0, "_sha", np.repeat(np.array(shas, dtype=object), n))
                rows.insert(0, "_month", np.repeat(np.array(months, dtype="datetime64[s]"), n))
                rows.insert(0, "_centre", np.repeat(np.array(centres, dtype=object), n))
            if rows is not None:
                con.register("batch_rows", rows)
            try:
                select = (f"SELECT _centre, CAST(_month AS DATE), _sha, _row, {typed_columns(name)} FROM batch_rows"
                          if rows is not None else f"SELECT * FROM core.{name} LIMIT 0")
                for stmt in statements(sql("load/replace_batch", table=name, rows=select)):
                    con.execute(stmt)
            finally:
                if rows is not None:
                    con.unregister("batch_rows")
    finally:
        con.unregister("batch_keys")
