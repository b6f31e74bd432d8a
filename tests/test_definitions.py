"""The Dagster code location: what the coordinator sees in the UI, and that it loads light."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import dagster as dg
import pytest

from sos_pipeline import config
from sos_pipeline.definitions import build_definitions


def test_definitions_snapshot(data_dir):
    defs = build_definitions(str(data_dir))
    repo = defs.get_repository_def()
    assert sorted(j.name for j in repo.get_all_jobs() if not j.name.startswith("__")) == \
        ["extracts", "finalise_extract", "intake", "load_delivery", "publish", "refresh"]
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert keys == {"archived_deliveries", "core_delivery", "loaded_deliveries",
                    "reporting_base",
                    "indicators_served", "indicators_caseload", "indicators_services", "indicators_groups",
                    "indicators_events", "indicators_mentoring", "indicators_trainings", "indicators_manual",
                    "indicators_completeness", "indicator_values", "warehouse", "funder_extract"}
    # The indicators sit downstream of the validated data, and publishing waits for them.
    graph = repo.asset_graph
    assert dg.AssetKey("core_delivery") in graph.get(dg.AssetKey("reporting_base")).parent_keys
    assert dg.AssetKey("loaded_deliveries") in graph.get(dg.AssetKey("reporting_base")).parent_keys
    # The refresh job is one unpartitioned run: inbox, the whole queue, indicators, publish.
    refresh = repo.get_job("refresh")
    assert {k.to_user_string() for k in refresh.asset_layer.executable_asset_keys} >= {
        "archived_deliveries", "loaded_deliveries", "indicator_values", "warehouse"}
    assert refresh.partitions_def is None
    # Writing runs are in the pool that admits one run at a time (test_automation.py: every step).
    assert {j: {n.definition.pool for n in repo.get_job(j).graph.node_dict.values()} - {None}
            for j in ("refresh", "load_delivery", "publish", "intake", "extracts")} == {
        "refresh": {"warehouse"}, "load_delivery": {"warehouse"}, "publish": {"warehouse"},
        "intake": {"warehouse"}, "extracts": {"reports"}}
    assert dg.AssetKey("indicator_values") in graph.get(dg.AssetKey("warehouse")).parent_keys
    publish = repo.get_job("publish")
    assert {k.to_user_string() for k in publish.asset_layer.executable_asset_keys} >= {
        "reporting_base", "indicators_served", "indicator_values", "warehouse"}
    # Extracts read the published warehouse: one partition per project and period.
    extract = graph.get(dg.AssetKey("funder_extract"))
    assert dg.AssetKey("warehouse") in extract.parent_keys
    ekeys = extract.partitions_def.get_partition_keys()
    assert {"EEA-2013-150/P1", "EEA-2013-150/P7", "EEA-2013-150/PTD", "BAU-FS/2017", "BAU-AAA-2018/P2",
            "ABLV-CAMPS/2013"} <= set(ekeys)
    assert "EEA-2013-150/P8" not in ekeys and "EEA-2013-150/2014" not in ekeys   # quarterly: no years
    assert extract.backfill_policy == dg.BackfillPolicy.single_run()
    assert repo.get_job("finalise_extract").partitions_def == extract.partitions_def
    # One loading path: one op is both the partitioned core_delivery (the UI picks centre-months,
    # one run for all of them) and the whole queue (loaded_deliveries: refresh, sensor, schedule).
    core = graph.get(dg.AssetKey("core_delivery"))
    loaded = graph.get(dg.AssetKey("loaded_deliveries"))
    assert core.assets_def is loaded.assets_def and core.assets_def.op.name == "load_deliveries"
    assert core.assets_def.backfill_policy == dg.BackfillPolicy.single_run()
    assert {k.to_user_string() for k in repo.get_job("load_delivery").asset_layer.executable_asset_keys} == {
        "core_delivery"}
    checks = {(k.asset_key.to_user_string(), k.name) for k in repo.asset_graph.asset_check_keys}
    assert checks == {("core_delivery", "validation"), ("warehouse", "deliveries_due")}
    (validation,) = core.assets_def.check_specs
    assert validation.blocking and validation.partitions_def == core.partitions_def
    (due_def,) = defs.asset_checks
    # Who has delivered: a warning on the published warehouse, never blocking, run by the jobs
    # that publish (refresh: the CLI, the sensor and the schedule; publish), not by the others.
    (due,) = due_def.check_specs
    assert (due.name, due.asset_key, due.blocking) == ("deliveries_due", dg.AssetKey("warehouse"), False)
    assert {j: {k.name for k in repo.get_job(j).asset_layer.asset_graph.asset_check_keys}
            >= {"deliveries_due"} for j in ("refresh", "publish", "extracts", "intake")} == {
        "refresh": True, "publish": True, "extracts": False, "intake": False}
    parts = core.partitions_def
    assert isinstance(parts, dg.MultiPartitionsDefinition)
    keys = parts.get_partition_keys()
    assert "BAU|2013-01" in keys and "VAL|2018-12" in keys
    (schedule,) = repo.schedule_defs
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "Europe/Riga")
    assert schedule.job_name == "refresh"
    assert sorted(s.name for s in repo.sensor_defs) == ["extracts_follow_publish", "inbox_sensor"]


def test_a_new_centre_brings_its_partitions_without_code(data_dir):
    ref = data_dir / "reference"
    ref.mkdir()
    shipped = (config.SHIPPED_REFERENCE / "centres.yaml").read_text(encoding="utf-8")
    (ref / "centres.yaml").write_text(shipped + "  - code: ISL\n    name_lv: Īslīce\n"
                                      "    name_en: Islice\n    active_from: 2016-01-01\n", encoding="utf-8")
    defs = build_definitions(str(data_dir))
    parts = defs.get_repository_def().asset_graph.get(dg.AssetKey("core_delivery")).partitions_def
    assert "ISL|2016-01" in parts.get_partition_keys()


def test_a_new_project_brings_its_extract_partitions_without_code(data_dir):
    ref = data_dir / "reference"
    ref.mkdir()
    shipped = (config.SHIPPED_REFERENCE / "projects.yaml").read_text(encoding="utf-8")
    (ref / "projects.yaml").write_text(shipped + (
        "  - code: NEW-2019\n    number: null\n    name_lv: Jauns\n    name_en: New\n"
        "    funder: A foundation\n    centres: [VAL]\n    start: 2019-03-01\n    end: 2019-12-31\n"
        "    reporting_months: 6\n"), encoding="utf-8")
    defs = build_definitions(str(data_dir))
    parts = defs.get_repository_def().asset_graph.get(dg.AssetKey("funder_extract")).partitions_def
    assert [k for k in parts.get_partition_keys() if k.startswith("NEW-2019/")] == [
        "NEW-2019/P1", "NEW-2019/P2", "NEW-2019/PTD"]


def test_code_location_loads_without_great_expectations_or_pandas():
    code = textwrap.dedent("""
        import sys, time
        t = time.perf_counter()
        import sos_pipeline.definitions
        print(round(time.perf_counter() - t, 2))
        print(any(m.startswith("great_expectations") for m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, gx = out.stdout.split()
    assert gx == "False"
    print(f"code location import: {seconds} s")


def test_the_sensor_asks_for_a_refresh_when_the_inbox_has_a_delivery(data_dir):
    defs = build_definitions(str(data_dir))
    sensor = defs.get_repository_def().get_sensor_def("inbox_sensor")
    with dg.build_sensor_context() as ctx:
        assert isinstance(sensor(ctx), dg.SkipReason)
    (data_dir / "inbox" / "BAU_2016-03").mkdir()
    with dg.build_sensor_context() as ctx:
        requests = sensor(ctx)
    assert [r.job_name for r in requests] == ["refresh"]        # the extracts follow (test_automation.py)


def test_queued_deliveries_make_one_refresh_run_not_one_run_per_delivery(data_dir):
    from sos_pipeline import reference
    from sos_pipeline.ingest.inbox import screen_inbox
    from sos_pipeline.sample import writers
    from sos_pipeline.sample.bad_corpus import clean_tables

    writers.write_csv_utf8(data_dir / "inbox", "VAL_2016-03", clean_tables("VAL", 2016, 3))
    writers.write_xlsx(data_dir / "inbox", "BAU_2016-04", clean_tables("BAU", 2016, 4))
    screen_inbox(config.paths().ensure(), reference.load(data_dir))
    defs = build_definitions(str(data_dir))
    sensor = defs.get_repository_def().get_sensor_def("inbox_sensor")
    with dg.build_sensor_context() as ctx:
        requests = sensor(ctx)
    assert [(r.job_name, r.partition_key) for r in requests] == [("refresh", None)]
    assert requests[0].tags["sos/queued"] == "2"


def test_the_validation_check_reports_every_suite():
    """One check per centre-month carries every suite's result (records.py says why not one per
    suite); its table lists the reader's checks first, then every GX suite."""
    from sos_pipeline.defs.records import suite_order
    from sos_pipeline.validation.suites import suite_names

    assert suite_order() == ["structure_and_privacy", *suite_names()]


def test_duckdb_memory_is_a_setting_that_reaches_the_writing_connection(data_dir, monkeypatch):
    """SOS_DUCKDB_MEMORY is read once into the warehouse resource, and the working warehouse's
    connections run under it; a value DuckDB would not understand is refused by name."""
    from sos_pipeline.warehouse.db import connect

    monkeypatch.setenv("SOS_DUCKDB_MEMORY", "300MB")
    resource = build_definitions().resources["warehouse"]
    assert resource.duckdb_memory == "300MB"
    with connect(resource.paths()) as con:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit in ("286.1 MiB", "300.0 MB"), limit       # DuckDB shows 300MB in MiB
    monkeypatch.setenv("SOS_DUCKDB_MEMORY", "lots")
    with pytest.raises(config.ConfigError, match="SOS_DUCKDB_MEMORY='lots'"):
        config.duckdb_memory()


def test_extract_workers_is_a_setting_of_the_warehouse_resource(data_dir, monkeypatch):
    """SOS_EXTRACT_WORKERS is read once into the warehouse resource (2 when unset); a value that is
    no number of processes is refused by name."""
    monkeypatch.delenv("SOS_EXTRACT_WORKERS", raising=False)
    assert build_definitions().resources["warehouse"].extract_workers == 2
    monkeypatch.setenv("SOS_EXTRACT_WORKERS", "1")
    assert build_definitions().resources["warehouse"].extract_workers == 1
    for bad in ("two", "0"):
        monkeypatch.setenv("SOS_EXTRACT_WORKERS", bad)
        with pytest.raises(config.ConfigError, match=f"SOS_EXTRACT_WORKERS='{bad}'"):
            config.extract_workers()
