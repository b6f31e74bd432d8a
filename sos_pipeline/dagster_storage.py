"""Dagster's SQLite event log, with its connections kept open (DAGSTER_HOME/dagster.yaml names it).

A loading run records two events for each centre-month it settles (sos_pipeline/defs/records.py),
5,760 at a time for a federation of 80 centres over six years. Dagster's own SQLite event log
creates an SQLAlchemy engine, opens a connection and closes it again for every write, and it
writes each event in up to four transactions (the run's file, then the cross-run index). In WAL
mode, closing the last connection to a file checkpoints the log into it and deletes it, so every
event paid for a checkpoint: 16 ms an event on an idle machine, 30 ms and more under load.

This storage is Dagster's, with three differences: each file keeps one engine whose pool keeps
its connections open, and those connections commit with `synchronous=NORMAL`, which is what
SQLite recommends with WAL; its watcher (the UI's live view of a running run) also looks at a
run's `-wal` file, where those commits land; and whether a table exists (asked for every check
evaluation) is answered from the kept engine and remembered. An event costs 1.7 ms instead of
15–17 ms (`bench/event_log.py`). What is stored, where and how is unchanged, so the UI, the daemon and
Dagster's own tools read it as before, and a DAGSTER_HOME can go back to Dagster's default
storage by deleting the setting.

Durability: a killed process loses nothing it committed (the fault tests kill refreshes). With
`synchronous=NORMAL` a power cut may lose the last events before it; the run history is then
behind the warehouse, whose own audit is the record of what was loaded.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from contextlib import contextmanager

import sqlalchemy as db
from dagster import Field, StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy.pool import QueuePool
from watchdog.events import PatternMatchingEventHandler
from watchdog.observers import Observer

# Open engines kept at once: the cross-run index and the last few runs' files (the UI reads many).
KEEP_OPEN = 8


def _on_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` whose connections stay open between writes (see the module's text).

    Config: `base_dir`, optional; relative to DAGSTER_HOME, `history/runs` (Dagster's own place)
    when not given, so a copied or moved DAGSTER_HOME keeps working. The instance is therefore
    opened as Dagster's tools open it, through DAGSTER_HOME (`DagsterInstance.get()`), not by
    `DagsterInstance.from_config(<another folder>)`."""

    def __init__(self, base_dir: str | None = None, inst_data=None):
        self._engines: OrderedDict[str, db.Engine] = OrderedDict()  # before Dagster's __init__ connects
        self._tables: set[str] = set()                               # tables known to exist
        self._engines_lock = threading.RLock()
        self._pid = os.getpid()
        home = os.environ.get("DAGSTER_HOME")
        if not home:
            raise RuntimeError("PooledSqliteEventLogStorage finds its files under DAGSTER_HOME, which is not set: "
                               "open this Dagster instance with DAGSTER_HOME pointing at it.")
        super().__init__(os.path.join(home, base_dir or os.path.join("history", "runs")), inst_data=inst_data)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> db.Engine:
        with self._engines_lock:
            return self._kept_engine(shard)

    def _kept_engine(self, shard: str) -> db.Engine:
        if self._pid != os.getpid():                 # a forked child never uses its parent's connections
            for engine in self._engines.values():
                engine.dispose(close=False)
            self._engines.clear()
            self._pid = os.getpid()
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard), poolclass=QueuePool, pool_size=1, max_overflow=4,
            # One thread at a time uses a connection (Dagster's own lock, below); the webserver's
            # threads take turns with the same one.
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
        db.event.listen(engine, "connect", _on_connect)
        self._engines[shard] = engine
        while len(self._engines) > KEEP_OPEN:
            _, old = self._engines.popitem(last=False)
            old.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str):
        # As Dagster's own `_connect`, but with the kept engine instead of a new one each time.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def has_table(self, table_name: str) -> bool:
        """As Dagster's, on the kept engine, and remembered once true (a table is never dropped):
        Dagster asks `supports_asset_checks`, that is whether a table exists, for every check
        evaluation it stores, and its own answer opens a new engine and connection each time
        (3 ms of the 5 ms an evaluation cost)."""
        if table_name in self._tables:
            return True
        # Not under Dagster's (non-reentrant) lock: Dagster asks while it holds it, too. A read
        # on a connection of its own, which WAL lets run beside a writer.
        engine = self._engine(INDEX_SHARD_NAME)
        with engine.connect() as conn:
            found = bool(engine.dialect.has_table(conn, table_name))
        if found:
            self._tables.add(table_name)
        return found

    def watch(self, run_id: str, cursor: str | None, callback) -> None:
        """As Dagster's, but a run's new events are noticed in its write-ahead log too: the writer
        keeps its connection open, so the run's .db file changes only when the log is folded
        into it (Dagster's watcher looks at the .db file alone, and the UI's live view of a run
        would wait for the end of the run)."""
        if not self._obs:
            self._obs = Observer()
            self._obs.start()
        watchdog = _RunLogWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (watchdog, self._obs.schedule(watchdog, self._base_dir, recursive=True))

    def dispose(self) -> None:
        with self._engines_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
        super().dispose()


class _RunLogWatchdog(SqliteEventLogStorageWatchdog):
    """Dagster's watcher of a run's event file, which also reacts to its `-wal` file."""

    def __init__(self, event_log_storage, run_id, callback, cursor):
        self._event_log_storage = event_log_storage
        self._run_id = run_id
        self._cb = callback
        self._log_path = event_log_storage.path_for_shard(run_id)
        self._cursor = cursor
        PatternMatchingEventHandler.__init__(self, patterns=[self._log_path, self._log_path + "-wal"])

    def on_modified(self, event) -> None:
        self._process_log()

    def on_created(self, event) -> None:       # the first write of a run creates its -wal file
        self._process_log()
