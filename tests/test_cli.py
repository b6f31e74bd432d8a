"""The coordinator's commands: exit codes and messages people act on."""
from __future__ import annotations

import duckdb

from sos_pipeline import cli, config
from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import clean_tables

from conftest import one_project


def test_production_without_a_key_refuses_to_run(data_dir, monkeypatch, capsys):
    monkeypatch.delenv("SOS_PSEUDONYM_KEY")
    monkeypatch.setenv("SOS_ENV", "production")
    writers.write_csv_utf8(data_dir / "inbox", "BAU_2016-03", clean_tables("BAU", 2016, 3))
    assert cli.main(["refresh"]) == 2
    assert "SOS_PSEUDONYM_KEY is not set" in capsys.readouterr().err
    assert not (data_dir / "warehouse.duckdb").exists()
    assert (data_dir / "inbox" / "BAU_2016-03").is_dir()          # nothing was taken


def test_demo_key_is_announced(data_dir, monkeypatch, capsys):
    monkeypatch.delenv("SOS_PSEUDONYM_KEY")
    monkeypatch.setattr(config, "_warned", False)
    config.pseudonym_key()
    assert "DEMO pseudonym key" in capsys.readouterr().err


def test_broken_reference_stops_the_run_naming_the_file(data_dir, capsys):
    (data_dir / "reference").mkdir()
    (data_dir / "reference" / "centres.yaml").write_text("centres:\n  - code: bau\n    name_lv: Bauska\n    name_en: Bauska\n"
                                                         "    active_from: 2013-01-01\n", encoding="utf-8")
    writers.write_csv_utf8(data_dir / "inbox", "BAU_2016-03", clean_tables("BAU", 2016, 3))
    assert cli.main(["refresh"]) == 2
    err = capsys.readouterr().err
    assert "reference/centres.yaml: centre 'bau': code must be 1-8 upper-case" in err
    assert (data_dir / "inbox" / "BAU_2016-03").is_dir()


def test_loading_a_centre_month_with_nothing_queued_says_so_and_changes_nothing(data_dir, capsys):
    """The refresh prints what became of each delivery, the run's tags carry the same counts, and the
    UI's `load_delivery` job on a centre-month with nothing queued fails with a message, core as it was."""
    from dagster import DagsterInstance

    from sos_pipeline.definitions import build_definitions

    one_project(data_dir)
    writers.write_csv_cp1257(data_dir / "inbox", "VAL_2016-06", clean_tables("VAL", 2016, 6))
    assert cli.main(["refresh"]) == 0
    out = capsys.readouterr().out
    assert "VAL_2016-06      accepted" in out and "accepted   1" in out
    # The summary names the indicators just published and each project's figures against its
    # targets: BAU-FS (conftest's one project) aims at 20 families, and none of the month's
    # contacts, sessions or events names the project.
    assert "values in reporting.indicator_values" in out
    assert any(line.split()[:2] == ["BAU-FS", "families_served"] and line.split()[-3:] == ["0", "/", "20"]
               for line in out.splitlines())
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    before = con.execute("SELECT * FROM core.children ORDER BY ALL").fetchall()
    con.close()
    defs = build_definitions(str(data_dir))
    refresh_run = [r for r in DagsterInstance.get().get_runs() if r.job_name == "refresh"][0]
    assert {k: v for k, v in refresh_run.tags.items() if k.startswith("sos/")
            and k not in ("sos/trigger", "sos/process")} == {"sos/accepted": "1", "sos/superseded": "0", "sos/unchanged": "0",
                                       "sos/rejected": "0"}
    with DagsterInstance.ephemeral() as instance:
        r = defs.resolve_job_def("load_delivery").execute_in_process(
            partition_key="VAL|2016-06", instance=instance, raise_on_error=False)
        assert not r.success
        (failure,) = [e for e in r.all_events if e.event_type_value == "STEP_FAILURE"]
        assert "Nothing is queued for VAL|2016-06" in failure.event_specific_data.error.message
        assert defs.resolve_job_def("publish").execute_in_process(instance=instance).success
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT * FROM core.children ORDER BY ALL").fetchall() == before
    assert con.execute("SELECT status, count(*) FROM audit.deliveries GROUP BY 1").fetchall() == \
        [("accepted", 1)]
    con.close()


def test_dagster_home_admits_one_writing_run_at_a_time(data_dir, monkeypatch, tmp_path):
    """The persistent DAGSTER_HOME the CLI sets up queues runs and gives each concurrency pool
    (the writers' "warehouse", the extracts' "reports") one run at a time."""
    import os

    from dagster import DagsterInstance

    home = tmp_path / "fresh_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    cli._dagster_home()
    assert os.environ["DAGSTER_HOME"] == str(home)
    with DagsterInstance.get() as instance:
        coordinator = instance.run_coordinator
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        pool = instance.get_concurrency_config().pool_config
        assert (pool.default_pool_limit, pool.pool_granularity.value) == (1, "run")
