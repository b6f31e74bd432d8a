"""The one loading path: what a refresh, the sensor, the schedule and the UI run
(defs/ingest.py's `load_deliveries`), over the whole queue or the centre-months picked.

Loading deliveries one Dagster run at a time costs about 1.8 s each, most of it fixed
cost (run bookkeeping, then Great Expectations' ~0.5 s per suite run whatever its size),
so the queue is loaded in chunks of many deliveries instead:

1. read      the next chunk of the queue, in queue order (reader: dialects, structure, privacy
             gate), as raw cells.
2. type      the whole chunk at once, in DuckDB (ingest/cells.py, sql/load/typing.sql): dates,
             numbers, ids, refs to pseudonyms. The typed rows stay in DuckDB (c_<table>) on the
             chunk's one connection; no pandas frame is built per delivery. A delivery that
             cannot be read or typed is rejected at once.
3. validate  the whole chunk at once: its rows are staged from c_<table>, each suite's frame is
             one query (validation/frames.py) and GX runs each suite once. Each delivery
             is checked against its centre's other months as they will be when the
             deliveries queued before it are loaded: core, overlaid with the chunk's
             earlier deliveries of that centre (sql/validation/history.sql).
4. settle    per centre, the deliveries before its first failing one are accepted and that
             one is rejected; the ones after it assumed it would be loaded, so they are
             validated again, in the next round, against what was really loaded.
5. load      the round's accepted deliveries into core from c_<table>, in one transaction (the last
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

import contextlib
import datetime as dt
import gc
import time
from dataclasses import dataclass, field

import pandas as pd

from sos_pipeline import config, contract
from sos_pipeline.config import Paths
from sos_pipeline.faults import pause_point
from sos_pipeline.findings import ERROR, WARNING, Finding
from sos_pipeline.ingest import audit, cells, intake
from sos_pipeline.ingest.reader import Delivery, read_raw_safely, unreadable
from sos_pipeline.ingest.report import summary
from sos_pipeline.reference import Reference
from sos_pipeline.validation.rules import CROSS_TABLE as R_CROSS
from sos_pipeline.validation.rules import READER_SUITE as STRUCTURE
from sos_pipeline.warehouse.db import connect, sql, statements, transaction, writer_lock




@dataclass
class Item:
    pending: intake.Pending
    delivery: Delivery
    n: int = -1                                               # its index in the chunk (_item)
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
        # Python's cycle collector off while the chunk is read: the cells are millions of new
        # objects kept alive (lists of text, no cycles), and each collection walked all of them
        # again (reading 720 deliveries: 1.7 s with it, 0.9 s without). One collection first:
        # the previous chunk's garbage in cycles (GX's results, frames) goes before the cells
        # come (without it, memory after loading 80 x 72 was 0.95 GB instead of 0.52 GB).
        with _collector_paused():
            while queue and (not chunk or rows < chunk_rows):
                p = queue.pop(0)
                item = Item(p, read_raw_safely(paths.data / p.archive_path), n=len(chunk))
                item.rows = sum(item.delivery.row_counts.values())
                rows += item.rows
                chunk.append(item)
        t = _tick(result, "read", t)
        result.chunks += 1
        if log:
            log(f"chunk {result.chunks}: {len(chunk)} deliveries, {rows:,} rows read")
        with connect(paths) as con:     # the chunk's typed rows live on this connection
            _type(con, chunk, key)
            _tick(result, "type", t)
            _settle_chunk(con, paths, ref, chunk, result, log)


@contextlib.contextmanager
def _collector_paused():
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _type(con, chunk: list[Item], key: bytes) -> None:
    """Type the chunk's deliveries in DuckDB (ingest/cells.py) and add what typing found to each
    one's findings. A delivery whose typing raises is found (each is typed alone, in memory) and
    rejected as unreadable, so that the others load."""
    import duckdb

    def entries(items):
        return [(i.n, i.centre, i.delivery.raw, i.delivery.form == "xlsx") for i in items]

    todo = [i for i in chunk if i.delivery.typed is False]
    try:
        found = cells.type_chunk(con, entries(todo), key)
    except Exception:  # noqa: BLE001 - isolated below
        for item in todo:
            scratch = duckdb.connect()
            try:
                cells.type_chunk(scratch, entries([item]), key)
            except Exception as exc:  # noqa: BLE001 - that delivery is rejected, not the run
                item.delivery = unreadable(exc)
            finally:
                scratch.close()
        todo = [i for i in todo if i.delivery.typed is False]
        found = cells.type_chunk(con, entries(todo), key)
    for item in todo:
        item.delivery.findings = item.delivery.findings + found[item.n]
        item.delivery.typed = True
        item.delivery.raw = {}      # the cells, refs in clear, are not kept once typed
    for item in chunk:
        item.findings = list(item.delivery.findings)


def _settle_chunk(con, paths: Paths, ref: Reference, chunk: list[Item], result: QueueResult,
                  log) -> None:
    unread = [i for i in chunk if not i.delivery.ok]
    for i in unread:
        i.status, i.reason = "rejected", summary(i.findings)
    _record(con, paths, [], unread, result)
    remaining = [i for i in chunk if i.delivery.ok]
    while remaining:
        result.rounds += 1
        t = time.perf_counter()
        checked = _validate_round(con, ref, remaining, result, t)
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
        again += _record_isolating(con, paths, accepted, rejected, result)
        _tick(result, "load", t)
        if log and again:
            log(f"round {result.rounds}: {len(rejected)} rejected; {len(again)} later deliveries of "
                "the same centres are checked again without them")
        remaining = again


def _validate_round(con, ref: Reference, items: list[Item], result: QueueResult,
                    t: float) -> list[dict | None]:
    """The suites' findings of each item, checked against its centre's months as they will be
    once the items before it are loaded: the items' typed rows are staged on the chunk's
    connection and each suite's frame is one query over all of them (validation/frames.py); GX
    runs each suite once."""
    from sos_pipeline.validation import frames as F
    from sos_pipeline.validation.suites import run_suites, suite_inputs

    F.stage_typed(con, [(i.n, i.centre, i.month, intake.month_end(i.month)) for i in items],
                  ref.projects)
    F.stage_history(con)
    pause_point("validation")
    stacked, params = suite_inputs(con, ref.projects)
    _tick(result, "stage", t)
    # _delivery of the staged items is their index in `items`
    return _validate_isolating(lambda group: run_suites(stacked, params, group), list(range(len(items))))


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


def _record_isolating(con, paths: Paths, accepted: list[Item], rejected: list[Item],
                      result: QueueResult) -> list[Item]:
    """_record, where an accepted delivery that cannot be stored is rejected instead of failing
    the run. Returns the deliveries to check again: those of its centre queued after it (they
    were checked assuming it would load)."""
    try:
        _record(con, paths, accepted, rejected, result)
        return []
    except _value_errors():
        pass
    _record(con, paths, [], rejected, result)       # each round is one transaction: redo it
    again: list[Item] = []
    failed: set[str] = set()
    for item in accepted:                            # queue order
        if item.centre in failed:
            again.append(item)
            continue
        try:
            _record(con, paths, [item], [], result)
        except _value_errors():
            item.status = "rejected"
            item.findings = [*item.findings, _load_failed()]
            item.reason = summary(item.findings)
            _record(con, paths, [], [item], result)
            failed.add(item.centre)
    return again


# ------------------------------------------------------------------ recording outcomes

def _record(con, paths: Paths, accepted: list[Item], rejected: list[Item], result: QueueResult) -> None:
    """Rejected: quarantine + audit. Accepted: core replaced per centre-month + audit. One
    transaction; the queue entries are dropped after it commits."""
    if not accepted and not rejected:
        return
    for item in rejected:                           # files first: they are idempotent
        p = item.pending
        intake.write_quarantine(paths, p.delivery, p.sha256, item.findings,
                                paths.data / p.archive_path, p.received_at)
    with transaction(con):
        for item in rejected:
            _audit_rejected(con, item)
        if accepted:
            _replace_core(con, accepted)
            _audit_accepted(con, accepted)
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


def _audit_accepted(con, items: list[Item]) -> None:
    superseded = audit.record_accepted_many(con, [audit.Accepted(
        i.pending.delivery, i.centre, i.month, dt.datetime.fromisoformat(i.pending.received_at),
        i.pending.sha256, i.delivery.form, i.rows, i.pending.archive_path, i.findings) for i in items])
    for item, name in zip(items, superseded):
        item.superseded = name


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
    """The last accepted version of each centre-month replaces that centre-month in core, from
    the chunk's typed rows (c_<table>)."""
    last: dict[tuple[str, dt.date], Item] = {}
    for item in accepted:
        last[(item.centre, item.month)] = item
    keys = pd.DataFrame({"_item": [i.n for i in last.values()], "centre": [c for c, _ in last],
                         "month": [m for _, m in last], "sha": [i.pending.sha256 for i in last.values()]})
    con.register("batch_keys", keys)
    try:
        for name in contract.TABLES:
            rows = (f"SELECT _centre, CAST(_month AS DATE), _sha, _row, {typed_columns(name)} "
                    f"FROM (SELECT k.centre AS _centre, k.month AS _month, k.sha AS _sha, c.* "
                    f"FROM c_{name} c JOIN batch_keys k USING (_item))")
            for stmt in statements(sql("load/replace_batch", table=name, rows=rows)):
                con.execute(stmt)
    finally:
        con.unregister("batch_keys")
