"""The funder extracts follow the published warehouse by their automation condition
(defs/extracts.FOLLOW_PUBLISH), and writing runs share one concurrency pool.

Real runs of the `refresh` and `extracts` jobs on a Dagster instance on disk, as the inbox
sensor's run and the run the `extracts_follow_publish` sensor starts would be; the condition is
evaluated with Dagster's own evaluator (the sensor's logic, without a daemon), tick after tick
with its cursor carried over.
"""
from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
from dagster import DagsterInstance

from sos_pipeline import cli
from sos_pipeline.definitions import build_definitions
from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import clean_tables

from conftest import one_project

EXTRACT = dg.AssetKey("funder_extract")
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def test_extracts_are_requested_when_and_only_when_the_published_warehouse_changes(data_dir, monkeypatch):
    monkeypatch.setenv("SOS_TODAY", "2016-06-20")
    one_project(data_dir)
    defs = build_definitions(str(data_dir))
    keys = defs.resolve_job_def("extracts").partitions_def.get_partition_keys()
    assert sorted(keys) == ["BAU-FS/2016", "BAU-FS/P1", "BAU-FS/PTD"]  # ONE_PROJECT_YAML: one year, 12-month periods
    with DagsterInstance.get() as instance:
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert tick.total_requested == 0                            # nothing published yet

        def refresh_run():                                          # what the inbox sensor's run does
            assert defs.resolve_job_def("refresh").execute_in_process(
                instance=instance, run_config=QUIET, raise_on_error=False).success

        writers.write_csv_utf8(data_dir / "inbox", "BAU_2016-03", clean_tables("BAU", 2016, 3))
        refresh_run()
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert tick.get_requested_partitions(EXTRACT) == set(keys)

        # The run the sensor starts for them: one run, every requested partition.
        r = defs.resolve_job_def("extracts").execute_in_process(
            instance=instance, run_config=QUIET, raise_on_error=False,
            tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]})
        assert r.success
        assert {m.partition for m in r.asset_materializations_for_node("funder_extract")} == set(keys)
        assert (data_dir / "reports" / "BAU-FS" / "PTD").is_dir()
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert tick.total_requested == 0                            # handled

        # A refresh with nothing new publishes the same state: same data version, no extracts.
        refresh_run()
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert tick.total_requested == 0

        # A new month changes what is published: every extract is requested again.
        writers.write_csv_utf8(data_dir / "inbox", "BAU_2016-04", clean_tables("BAU", 2016, 4))
        refresh_run()
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
        assert tick.get_requested_partitions(EXTRACT) == set(keys)


def test_the_sensor_and_the_pools(data_dir):
    repo = build_definitions(str(data_dir)).get_repository_def()
    follow = repo.get_sensor_def("extracts_follow_publish")
    assert follow.default_status == dg.DefaultSensorStatus.RUNNING    # no toggle to find in the UI
    graph = repo.asset_graph
    pools = {k.to_user_string(): graph.get(k).pools for k in graph.get_all_asset_keys()}
    assert {k for k, p in pools.items() if p == {"warehouse"}} == {
        "archived_deliveries", "core_delivery", "loaded_deliveries", "reporting_base", "indicator_values",
        "warehouse", *(f"indicators_{f}" for f in ("caseload", "completeness", "events", "groups", "manual",
                                                   "mentoring", "served", "services", "trainings"))}
    assert pools["funder_extract"] == {"reports"}      # one run each at a time: test_cli.py


def test_a_run_left_started_by_a_killed_refresh_is_marked_failed_by_the_next(data_dir):
    """A refresh killed mid-run leaves its run "started" for ever (it ran in the CLI's process):
    in the UI's run list, and for the run queue, which would admit no other writing run. The next
    refresh marks it failed, and only it: a run of a live process is left alone."""
    one_project(data_dir)
    killed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    killed.kill()
    killed.wait()
    host = cli._tags()[cli.PROCESS_TAG].rpartition(":")[0]
    job = build_definitions(str(data_dir)).resolve_job_def("refresh")
    with DagsterInstance.get() as instance:
        dead, alive = (instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED, tags={
            "sos/trigger": "cli", cli.PROCESS_TAG: f"{host}:{pid}"}).run_id for pid in (killed.pid, os.getpid()))
        writers.write_csv_utf8(data_dir / "inbox", "BAU_2016-03", clean_tables("BAU", 2016, 3))
        assert cli.main(["refresh"]) == 0
        status = {rid: instance.get_run_by_id(rid).status for rid in (dead, alive)}
        failure = instance.all_logs(dead, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert status == {dead: dg.DagsterRunStatus.FAILURE, alive: dg.DagsterRunStatus.STARTED}
    assert f"pid {killed.pid}" in failure[0].message
