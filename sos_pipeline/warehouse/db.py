"""Connections to the working warehouse: one writer at a time, schema, SQL files.

DuckDB allows one writing process. Every writer takes an exclusive lock on
`.work/writer.lock` first, waiting for a running writer to finish (with a clear
message while it waits), so two refreshes never collide. The lock is re-entrant
within a process, so the CLI can hold it for a whole refresh while the Dagster
steps it runs take it again.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
import sys

import duckdb
import filelock

from sos_pipeline import contract
from sos_pipeline.config import REPO_ROOT, Paths

def _sql_dir() -> Path:
    """The SQL files: sos_pipeline/sql/ when installed from a wheel (pyproject.toml maps the
    repository's sql/ there), the repository's sql/ in a checkout."""
    installed = Path(__file__).resolve().parents[1] / "sql"
    return installed if installed.is_dir() else REPO_ROOT / "sql"


SQL_DIR = _sql_dir()


class WriterBusy(RuntimeError):
    """Another refresh holds the warehouse."""


def sql(name: str, **identifiers: str) -> str:
    """Read sql/<name>.sql; {identifiers} are filled from code, never from data."""
    text = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    return text.format(**identifiers) if identifiers else text


def ident(name: str) -> str:
    """A name quoted as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def statements(text: str) -> list[str]:
    """A SQL file's statements, as DuckDB's own parser splits them (`extract_statements`)."""
    return [q for q in (st.query.strip() for st in duckdb.extract_statements(text)) if q]


@contextlib.contextmanager
def registered(con, **frames):
    """Pandas frames visible to `con`'s SQL under these names for the block (DuckDB's `register`)."""
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        yield
    finally:
        for name in frames:
            con.unregister(name)


@contextlib.contextmanager
def transaction(con):
    """BEGIN ... COMMIT, or ROLLBACK on any error: a step lands whole or not at all."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _lock(path) -> filelock.FileLock:
    """The process's one lock object for `path` (filelock's singletons): re-entrant within a
    thread, exclusive between processes (flock) and between threads."""
    return filelock.FileLock(str(path), mode=0o600, is_singleton=True)


@contextlib.contextmanager
def writer_lock(paths: Paths, wait_seconds: float | None = None):
    """Exclusive lock for writing the working warehouse; re-entrant within a thread, so the
    CLI holds it for a whole refresh while the Dagster steps it runs take it again. A writer
    that has to wait says so once, and gives up after `wait_seconds` (SOS_LOCK_WAIT_SECONDS,
    default an hour) with WriterBusy."""
    if wait_seconds is None:
        wait_seconds = float(os.environ.get("SOS_LOCK_WAIT_SECONDS", "3600"))
    paths.work.mkdir(parents=True, exist_ok=True)
    lock = _lock(paths.lock)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        print(f"Another refresh is writing the warehouse in {paths.data}; waiting for it to finish...",
              file=sys.stderr)
        try:
            lock.acquire(timeout=wait_seconds, poll_interval=0.2)
        except filelock.Timeout:
            raise WriterBusy(
                f"Another refresh is writing the warehouse in {paths.data} (lock {paths.lock}); "
                f"gave up after waiting {wait_seconds:.0f} s. Try again when it has finished.") from None
    try:
        yield
    finally:
        lock.release()


def open_working(paths: Paths) -> duckdb.DuckDBPyConnection:
    """A connection to the working file with the installation's memory limit (SOS_DUCKDB_MEMORY);
    the caller holds the writer lock."""
    return duckdb.connect(str(paths.working_db), config={"memory_limit": paths.duckdb_memory})


@contextlib.contextmanager
def connect(paths: Paths):
    """A writing connection to the working file, under the writer lock."""
    with writer_lock(paths):
        paths.work.mkdir(parents=True, exist_ok=True)
        con = open_working(paths)
        try:
            ensure_schema(con)
            yield con
        finally:
            con.close()


COMMON_COLUMNS = {
    "centre": "Centre code (centres.yaml) that sent the delivery.",
    "month": "First day of the month the delivery covers.",
    "delivery_sha256": "sha256 of the accepted delivery these rows come from (audit.deliveries).",
    "source_row": "Row number in the delivery's file or sheet (header is row 1).",
}
TABLE_COMMENTS = {
    "audit.deliveries": "Every delivery received, with what became of it: accepted, rejected, "
                        "superseded (replaced by a correction) or unchanged (identical re-delivery).",
    "audit.findings": "Warnings of accepted deliveries and errors of rejected ones: rule, table, "
                      "column, how many rows and which source rows; never a value.",
}
AUDIT_COLUMNS = {
    "audit.deliveries": {
        "delivery": "Delivery name as sent, e.g. BAU_2014-03.",
        "centre": "Centre code; NULL when the name could not be read.",
        "month": "First day of the month covered; NULL when the name could not be read.",
        "received_at": "When the pipeline took the delivery from the inbox.",
        "sha256": "sha256 of the delivery's bytes (folder: of its files' sha256 list).",
        "status": "accepted, rejected, superseded or unchanged.",
        "reason": "Rejected: the rules broken. Superseded: the correction that replaced it.",
        "form": "csv-utf8, csv-cp1257 or xlsx.",
        "processed_at": "When this status was recorded.",
        "rows_loaded": "Rows loaded into core (accepted deliveries).",
        "warnings": "Number of warning findings (see audit.findings).",
        "archive_path": "Where the delivery is archived, relative to SOS_DATA_DIR.",
    },
    "audit.findings": {
        "delivery": "Delivery name.", "sha256": "Which version of the delivery.",
        "rule": "Rule id (docs/validation-rules.md).", "severity": "error or warning.",
        "table_name": "Table (CSV file or sheet).", "column_name": "Column, if the rule is about one.",
        "row_count": "How many rows or cells are affected.",
        "source_rows": "Up to 50 affected row numbers in the file (header is row 1).",
        "message": "What is wrong, in plain words; never a value.",
        "recorded_at": "When the finding was recorded.",
    },
}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create schemas and tables (idempotent) and (re)write every comment."""
    state = {r[0] for r in con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE (schema_name, table_name) "
        "IN (('core', 'trainings'), ('reporting', 'periods'), ('derived', 'build_state')) UNION ALL "
        "SELECT schema_name FROM duckdb_schemas() WHERE schema_name = 'staging'").fetchall()}
    if state == {"core.trainings", "reporting.periods", "derived.build_state"}:
        return
    with transaction(con):
        # A working file of an earlier release: its staging tables are gone (one loading path
        # now reads straight into core), so they are dropped first.
        for stmt in statements(sql("schema/upgrade")):
            con.execute(stmt)
        for name in ("schema/core", "schema/audit", "schema/reporting"):
            for stmt in statements(sql(name)):
                con.execute(stmt)
        for name, table in contract.TABLES.items():
            con.execute(f"COMMENT ON TABLE core.{name} IS "
                        + _quote(f"Accepted rows of the centres' '{name}' table: {table.description}"))
            for col, text in COMMON_COLUMNS.items():
                con.execute(f"COMMENT ON COLUMN core.{name}.{col} IS {_quote(text)}")
            for col in table.columns:
                con.execute(f"COMMENT ON COLUMN core.{name}.{col.name} IS {_quote(col.description)}")
        for fq, text in TABLE_COMMENTS.items():
            con.execute(f"COMMENT ON TABLE {fq} IS {_quote(text)}")
            for col, ctext in AUDIT_COLUMNS[fq].items():
                con.execute(f"COMMENT ON COLUMN {fq}.{col} IS {_quote(ctext)}")


def uncommented(con) -> list[str]:
    """Tables and columns without a comment (must be none)."""
    missing = [f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE comment IS NULL OR comment = ''"
    ).fetchall()]
    missing += [f"{s}.{t}.{c}" for s, t, c in con.execute(
        "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
        "WHERE NOT internal AND (comment IS NULL OR comment = '')").fetchall()]
    missing += [f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal "
        "AND (comment IS NULL OR comment = '')").fetchall()]
    return missing
