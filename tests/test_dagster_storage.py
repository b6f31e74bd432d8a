"""The run history's event log (sos_pipeline/dagster_storage.py) and the DAGSTER_HOME settings
the CLI writes: what the pooled storage writes is Dagster's own format in Dagster's own place,
so the default storage reads it back, a copied DAGSTER_HOME keeps its own history, and a home
an earlier release set up is brought up to date unless someone edited its settings."""
from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from sos_pipeline import cli

PARTS = dg.StaticPartitionsDefinition(["BAU|2020-01", "BAU|2020-02", "VAL|2020-01"])


@dg.asset(partitions_def=PARTS)
def core_delivery():
    pass


@dg.asset(deps=[core_delivery])
def loader(context):
    for key in PARTS.get_partition_keys():
        context.log_event(dg.AssetMaterialization(asset_key="core_delivery", partition=key, metadata={"rows": 3}))
        context.log_event(dg.AssetCheckEvaluation(asset_key=dg.AssetKey("core_delivery"), check_name="validation",
                                                  partition=key, passed=key != "VAL|2020-01"))


def _home(path: Path, pooled: bool) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    text = (Path(cli.__file__).parent / "dagster.yaml").read_text()
    if not pooled:
        assert "event_log_storage:" in text
        text = text.split("event_log_storage:")[0] + "telemetry:\n  enabled: false\n"
    (path / "dagster.yaml").write_text(text)
    return path


def _history(home: Path, monkeypatch) -> tuple[type, dict, dict]:
    """(storage class, partition -> materialisations, partition -> check results) as the UI reads them."""
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        storage = type(instance.event_log_storage)
        mats = instance.fetch_materializations(dg.AssetKey("core_delivery"), limit=100).records
        n_mats: dict[str, int] = {}
        for r in mats:
            n_mats[r.partition_key] = n_mats.get(r.partition_key, 0) + 1
        checks = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("core_delivery"), "validation"), limit=100)
        results = {}
        for c in checks:
            data = c.event.dagster_event.event_specific_data
            results.setdefault(data.partition, []).append(data.passed)
    return storage, n_mats, results


def _run(home: Path, monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        assert dg.materialize([loader], instance=instance).success


def test_pooled_history_is_dagsters_own_and_stays_with_its_home(tmp_path, monkeypatch):
    home = _home(tmp_path / "home", pooled=True)
    _run(home, monkeypatch)
    storage, mats, checks = _history(home, monkeypatch)
    assert storage.__name__ == "PooledSqliteEventLogStorage"
    assert mats == {"BAU|2020-01": 1, "BAU|2020-02": 1, "VAL|2020-01": 1}
    assert checks == {"BAU|2020-01": [True], "BAU|2020-02": [True], "VAL|2020-01": [False]}
    assert (home / "history" / "runs" / "index.db").exists()      # Dagster's own place

    # Dagster's default storage reads the same files: the setting can be removed at any time
    _home(home, pooled=False)
    storage, mats_default, checks_default = _history(home, monkeypatch)
    assert storage.__name__ == "SqliteEventLogStorage"
    assert (mats_default, checks_default) == (mats, checks)

    # A copy of the home (taken while nothing runs) has the history, and its own from then on
    _home(home, pooled=True)
    copy = tmp_path / "copy"
    shutil.copytree(home, copy)
    _run(copy, monkeypatch)
    assert _history(copy, monkeypatch)[1] == {k: 2 for k in mats}
    assert _history(home, monkeypatch)[1] == mats


def test_the_storage_needs_dagster_home(tmp_path, monkeypatch):
    from sos_pipeline.dagster_storage import PooledSqliteEventLogStorage

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(RuntimeError, match="DAGSTER_HOME"):
        PooledSqliteEventLogStorage()


@pytest.mark.parametrize("before, upgraded", [("missing", True), ("earlier release", True), ("edited", False)])
def test_the_cli_sets_up_or_upgrades_the_homes_settings(tmp_path, monkeypatch, before, upgraded):
    home = tmp_path / "home"
    home.mkdir()
    settings = home / "dagster.yaml"
    current = (Path(cli.__file__).parent / "dagster.yaml").read_text()
    if before == "earlier release":   # the last release's file: today's without the event log lines
        lines = current.splitlines(keepends=True)
        start = next(i for i, x in enumerate(lines) if x.startswith("# Dagster's SQLite event log"))
        settings.write_text("".join(lines[:start] + lines[start + 6:]))
        assert "event_log_storage" not in settings.read_text()
    elif before == "edited":
        settings.write_text("telemetry:\n  enabled: true\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    cli._dagster_home()
    assert (settings.read_text() == current) is upgraded
    if not upgraded:
        assert settings.read_text() == "telemetry:\n  enabled: true\n"


def test_a_watched_run_sees_its_events_while_it_runs(tmp_path, monkeypatch):
    """The UI's live view of a run watches the run's file. The pooled writer keeps its connection
    open, so new events reach the file's write-ahead log, not the file: the storage's watcher
    looks at both, and the events arrive while the connection stays open."""
    import threading
    import time

    from dagster._core.events.log import EventLogEntry

    home = _home(tmp_path / "home", pooled=True)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    run_id = "0f0e0d0c-0000-4000-8000-000000000001"

    def entry(text: str) -> EventLogEntry:
        return EventLogEntry(error_info=None, level=20, user_message=text, run_id=run_id,
                             timestamp=time.time(), step_key=None, job_name="refresh", dagster_event=None)

    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        storage.store_event(entry("before the watch"))
        seen, arrived = [], threading.Event()

        def callback(event, cursor):
            seen.append(event.user_message)
            if "third" in seen:
                arrived.set()

        storage.watch(run_id, None, callback)
        try:
            time.sleep(0.2)                     # the observer is watching
            for text in ("first", "second", "third"):
                storage.store_event(entry(text))
            assert arrived.wait(timeout=20), seen
            assert (home / "history" / "runs" / f"{run_id}.db-wal").exists()   # the connection is open
        finally:
            storage.end_watch(run_id, callback)
    assert seen[-3:] == ["first", "second", "third"]
    assert not (home / "history" / "runs" / f"{run_id}.db-wal").exists()   # closed: folded into the file


def test_has_table_answers_inside_dagsters_lock_and_remembers(tmp_path, monkeypatch):
    """Dagster asks whether a table exists (supports_asset_checks) for every check evaluation,
    sometimes while it holds its own lock: the storage answers from its kept engine, in the same
    thread without waiting on that lock, and remembers a table once it exists."""
    import threading

    home = _home(tmp_path / "home", pooled=True)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        answers = []

        def ask():
            with storage.index_connection():        # holds Dagster's lock, as its writes do
                answers.append((storage.has_table("asset_check_executions"),
                                storage.has_table("no_such_table")))

        t = threading.Thread(target=ask, daemon=True)
        t.start()
        t.join(20)
        assert not t.is_alive(), "has_table waited on the lock its caller holds"
        assert answers == [(True, False)]
        assert storage.supports_asset_checks
        assert "asset_check_executions" in storage._tables and "no_such_table" not in storage._tables
