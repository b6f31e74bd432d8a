"""Publish the working file as warehouse.duckdb by atomic rename.

Analysts open the published file read-only, possibly for hours. We never open it
for writing: the working file is checkpointed, copied beside the published one,
flushed to disk, and renamed over it. A reader holding the old file keeps reading
the old, complete state; a new connection sees the new one; nobody ever sees a
half-written file.
"""
from __future__ import annotations

import os
import shutil

import duckdb

from sos_pipeline import permissions
from sos_pipeline.config import Paths
from sos_pipeline.faults import pause_point
from sos_pipeline.warehouse.db import writer_lock


def _fsync_dir(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(paths: Paths) -> dict:
    with writer_lock(paths):
        con = duckdb.connect(str(paths.working_db))
        try:
            con.execute("CHECKPOINT")
            counts = dict(con.execute(
                "SELECT schema_name || '.' || table_name, estimated_size FROM duckdb_tables() "
                "WHERE schema_name IN ('core', 'audit', 'reporting') ORDER BY 1").fetchall())
        finally:
            con.close()
        # A copy left by a publish that was killed (we hold the lock: nobody else is copying).
        for stale in paths.published.parent.glob(f".{paths.published.name}.*.tmp"):
            stale.unlink(missing_ok=True)
        tmp = paths.published.with_name(f".{paths.published.name}.{os.getpid()}.tmp")
        try:
            with open(paths.working_db, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
                dst.flush()
                os.fsync(dst.fileno())
            # Check the copy opens before it replaces anything.
            duckdb.connect(str(tmp), read_only=True).close()
            # Its readers' mode and group before the rename: warehouse.duckdb never has another.
            permissions.for_readers(tmp)
            pause_point("publish")
            os.replace(tmp, paths.published)
        except BaseException:       # e.g. the disk is full: do not leave half a copy filling it
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(paths.published.parent)
    return {"path": str(paths.published), "bytes": paths.published.stat().st_size, "tables": counts}
