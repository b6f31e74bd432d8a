"""Publish the working file as warehouse.duckdb by atomic rename, with a Parquet set beside it.

Analysts open the published file read-only, possibly for hours. We never open it
for writing: the working file is checkpointed, copied beside the published one,
flushed to disk, and renamed over it. A reader holding the old file keeps reading
the old, complete state; a new connection sees the new one; nobody ever sees a
half-written file.

The copy holds what analysts read: core, audit, reporting and derived.build_state, not the
indicator build's working tables (`published`). It is not a byte copy: DuckDB writes it
(`COPY FROM DATABASE ... (SCHEMA)`, then the rows table by table) in the storage
format of DuckDB 1.4 (`STORAGE_VERSION`), which every DuckDB from 1.4 on reads, 2.x
included. The working file is in DuckDB 2.0's own format, which the tools analysts have
(the R package, the ODBC driver, DBeaver's and Metabase's drivers: DuckDB 1.x) refuse.

Beside it, `parquet/` (`Paths.parquet`) holds `<schema>.<table>.parquet` for every
`reporting.*` table and `audit.deliveries`, read from the new copy, and `schema.json` with
their table and column comments (Parquet has no place for them). The set is written into
`.parquet.<pid>.tmp/` and swapped in whole, right after warehouse.duckdb (one rename with
RENAME_EXCHANGE on Linux): a reader sees the previous set or the new one, never a mix or a
half set. Both get the readers' mode and group (`permissions.for_readers`) before their rename.
"""
from __future__ import annotations

import ctypes
import datetime as dt
import errno
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import duckdb

from sos_pipeline import permissions
from sos_pipeline.config import Paths
from sos_pipeline.faults import pause_point
from sos_pipeline.warehouse.db import ident, open_working, writer_lock

# The oldest DuckDB that reads the published file is 1.4 (storage versions are named after the
# release that introduced them). Raise it only when the analysts' tools have moved on.
STORAGE_VERSION = "v1.4.0"
PUB = "pub"                       # the copy's name while it is attached to the working connection
SCHEMA_FILE = "schema.json"
SCHEMA_FORMAT = 1
# Parquet every reader knows: format version 1 pages, snappy (the Power BI/Excel connector,
# pandas/pyarrow, Spark, R arrow and DuckDB itself).
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION snappy, PARQUET_VERSION V1"


def _fsync(path) -> None:
    """A file's content, or a folder's entries, on disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parquet_tables(con, database: str) -> list[tuple[str, str]]:
    """(schema, table) of what goes to Parquet: every reporting table and audit.deliveries (already
    in the published file, with the same columns: nothing else of audit, nothing of core)."""
    return con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? AND "
        "(schema_name = 'reporting' OR (schema_name = 'audit' AND table_name = 'deliveries')) "
        "ORDER BY 1, 2", [database]).fetchall()


def _comments(con, database: str) -> dict[tuple, str | None]:
    """Every table, view and column comment of one attached database, by (kind, schema, name[, column])."""
    out: dict[tuple, str | None] = {}
    for s, t, c in con.execute("SELECT schema_name, table_name, comment FROM duckdb_tables() "
                               "WHERE database_name = ?", [database]).fetchall():
        out[("TABLE", s, t)] = c
    for s, v, c in con.execute("SELECT schema_name, view_name, comment FROM duckdb_views() "
                               "WHERE database_name = ? AND NOT internal", [database]).fetchall():
        out[("VIEW", s, v)] = c
    for s, t, col, c in con.execute("SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
                                    "WHERE database_name = ? AND NOT internal", [database]).fetchall():
        out[("COLUMN", s, t, col)] = c
    return out


def published(schema: str, table: str) -> bool:
    """Whether a table of the working file goes into the published one: all but the indicator
    build's working tables (derived.*: the intermediate tables of sql/reporting and the
    indicator files, and what the next build compares with), which are several times the size
    of everything analysts read. derived.build_state goes: it says what the copy was made from."""
    return schema != "derived" or table == "build_state"


def _carry_comments(con, source: str, target: str) -> int:
    """Give the copy every comment of the working file that it lacks (COPY FROM DATABASE keeps them in
    DuckDB 2.0; this makes sure of it). Returns how many were re-applied."""
    have = _comments(con, target)
    fixed = 0
    for key, comment in _comments(con, source).items():
        if not comment or have.get(key) == comment or not published(key[1], key[2]):
            continue
        kind, schema, name, *column = key
        what = ".".join(ident(x) for x in (target, schema, name, *column))
        con.execute(f"COMMENT ON {kind} {what} IS {_literal(comment)}")
        fixed += 1
    return fixed


def _write_copy(con, source: str, tmp: Path) -> None:
    """The working database but its working tables (`published`) into `tmp`, in the storage format
    of STORAGE_VERSION: every schema object with its constraints and comments first, then the
    rows of the tables that are published."""
    con.execute(f"ATTACH {_literal(str(tmp))} AS {PUB} (STORAGE_VERSION {_literal(STORAGE_VERSION)})")
    con.execute(f"COPY FROM DATABASE {ident(source)} TO {PUB} (SCHEMA)")
    for schema, table in con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
                                     "ORDER BY 1, 2", [source]).fetchall():
        name = f"{ident(schema)}.{ident(table)}"
        if published(schema, table):
            con.execute(f"INSERT INTO {PUB}.{name} SELECT * FROM {ident(source)}.{name}")
        else:
            con.execute(f"DROP TABLE {PUB}.{name}")
    _carry_comments(con, source, PUB)


def _write_parquet(con, folder: Path, published_name: str) -> list[dict]:
    """Every table of `parquet_tables` from the attached copy into `folder`, and schema.json."""
    folder.mkdir()
    tables = []
    for schema, table in parquet_tables(con, PUB):
        name = f"{schema}.{table}"
        path = folder / f"{name}.parquet"
        con.execute(f"COPY {PUB}.{ident(schema)}.{ident(table)} TO {_literal(str(path))} ({PARQUET_OPTIONS})")
        rows = con.execute(f"SELECT count(*) FROM {PUB}.{ident(schema)}.{ident(table)}").fetchall()[0][0]
        comment = con.execute("SELECT comment FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? "
                              "AND table_name = ?", [PUB, schema, table]).fetchall()[0][0]
        columns = [{"name": c, "type": ty, "nullable": nullable, "comment": cc}
                   for c, ty, nullable, cc in con.execute(
                       "SELECT column_name, data_type, is_nullable, comment FROM duckdb_columns() "
                       "WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index",
                       [PUB, schema, table]).fetchall()]
        tables.append({"table": name, "file": path.name, "rows": rows, "comment": comment,
                       "columns": columns})
    for t in tables:
        data = (folder / t["file"]).read_bytes()
        t["bytes"], t["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    doc = {
        "format": SCHEMA_FORMAT,
        "published_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "warehouse": published_name,
        "about": "The tables of the published warehouse as Parquet files (one per table, "
                 "<schema>.<table>.parquet), with the table and column comments Parquet cannot "
                 "carry. Types are DuckDB's. docs/analyst-guide.md says how to read them.",
        "tables": tables,
    }
    (folder / SCHEMA_FILE).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return tables


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE). False where that is not
    available (another system, an old kernel or C library, a file system without it)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _swap_folder(new: Path, dest: Path) -> None:
    """Put the folder `new` in the place of `dest` in one step. Afterwards `new` holds the previous
    folder, if there was one (the caller removes it)."""
    try:
        os.rename(new, dest)                 # the first publish: nothing there yet
        return
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
    if _renameat2_exchange(new, dest):
        return
    # Without RENAME_EXCHANGE: two renames. For a moment there is no folder, never a half set.
    aside = new.with_name(new.name[:-len(".tmp")] + ".old.tmp")
    os.rename(dest, aside)
    os.rename(new, dest)
    os.rename(aside, new)


def published_fingerprint(paths: Paths) -> str | None:
    """The publish fingerprint the published file carries (warehouse/state.py), if any."""
    from sos_pipeline.warehouse import state

    if not (paths.published.exists() and (paths.parquet / SCHEMA_FILE).exists()):
        return None
    try:
        con = duckdb.connect(str(paths.published), read_only=True)
    except duckdb.Error:
        return None
    try:
        return state.stored(con, state.PUBLISH)
    finally:
        con.close()


def _fingerprint(con, paths: Paths) -> str | None:
    from sos_pipeline.warehouse import state

    try:
        return state.publish_fingerprint(con, paths.data)
    except duckdb.CatalogException:     # a working file without the audit (tests of the mechanism)
        return None


def publish_if_changed(paths: Paths) -> dict:
    """publish(), unless the published file already holds exactly the working file's state
    (warehouse/state.py): then only the readers' permissions are set again (SOS_SHARE_GROUP may
    have changed), on reports/ too, where no extracts run follows an unchanged publish; and
    {"unchanged": True} is returned."""
    with writer_lock(paths):
        con = open_working(paths)
        try:
            fingerprint = _fingerprint(con, paths)
        finally:
            con.close()
        if fingerprint is None or published_fingerprint(paths) != fingerprint:
            return publish(paths, fingerprint)
        permissions.for_readers(paths.published)
        permissions.for_readers_tree(paths.parquet)
        from sos_pipeline.extracts import reports_lock
        try:                                # not while an extracts run writes there: it sets the
            with reports_lock(paths, wait_seconds=0):   # same modes when it ends
                permissions.secure_reports(paths.reports)
        except TimeoutError:
            pass
        return {"path": str(paths.published), "parquet": str(paths.parquet), "unchanged": True,
                "fingerprint": fingerprint}


def publish(paths: Paths, fingerprint: str | None = None) -> dict:
    """Copy the working file over warehouse.duckdb (and parquet/), carrying the fingerprint of
    what it holds (derived.build_state) so that the next refresh knows whether to publish."""
    from sos_pipeline.warehouse import state

    with writer_lock(paths):
        con = open_working(paths)
        try:
            fingerprint = fingerprint or _fingerprint(con, paths)
            if fingerprint is not None:
                state.store(con, state.PUBLISH, fingerprint)
        finally:
            con.close()
        return {**_publish(paths), "fingerprint": fingerprint}


def _publish(paths: Paths) -> dict:
    with writer_lock(paths):
        # What a publish that was killed left (we hold the lock: nobody else is writing them).
        for stale in paths.published.parent.glob(f".{paths.published.name}.*.tmp*"):
            stale.unlink(missing_ok=True)
        for stale in paths.parquet.parent.glob(f".{paths.parquet.name}.*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = paths.published.with_name(f".{paths.published.name}.{os.getpid()}.tmp")
        tmp_parquet = paths.parquet.with_name(f".{paths.parquet.name}.{os.getpid()}.tmp")
        try:
            con = open_working(paths)
            try:
                con.execute("CHECKPOINT")
                counts = dict(con.execute(
                    "SELECT schema_name || '.' || table_name, estimated_size FROM duckdb_tables() "
                    "WHERE database_name = current_database() AND schema_name IN ('core', 'audit', 'reporting') "
                    "ORDER BY 1").fetchall())
                source = con.execute("SELECT current_database()").fetchall()[0][0]
                _write_copy(con, source, tmp)
                tables = _write_parquet(con, tmp_parquet, paths.published.name)
                con.execute(f"DETACH {PUB}")         # checkpoints the copy: one complete file, no WAL
            finally:
                con.close()
            _fsync(tmp)
            for f in tmp_parquet.iterdir():
                _fsync(f)
            _fsync(tmp_parquet)
            # Check the copy opens before it replaces anything.
            duckdb.connect(str(tmp), read_only=True).close()
            # Its readers' mode and group before the rename: warehouse.duckdb never has another.
            permissions.for_readers(tmp)
            permissions.for_readers_tree(tmp_parquet)
            pause_point("publish")
            os.replace(tmp, paths.published)
            _swap_folder(tmp_parquet, paths.parquet)
        except BaseException:       # e.g. the disk is full: do not leave half a copy filling it
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
            shutil.rmtree(tmp_parquet, ignore_errors=True)
            raise
        _fsync(paths.published.parent)
        shutil.rmtree(tmp_parquet, ignore_errors=True)     # the previous Parquet set, swapped out
    return {"path": str(paths.published), "bytes": paths.published.stat().st_size, "tables": counts,
            "parquet": str(paths.parquet), "parquet_tables": [t["table"] for t in tables]}
