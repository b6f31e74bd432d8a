"""`sos-pipeline`: the coordinator's commands (warehouse.md, "Commands").

`refresh` runs the same Dagster jobs the UI and the schedule run, in this process,
recorded in the persistent DAGSTER_HOME so they show in the UI's run history.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from sos_pipeline import config, permissions


def _dagster_home() -> None:
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        home = str(config.REPO_ROOT / ".dagster_home")
        os.environ["DAGSTER_HOME"] = home
    Path(home).mkdir(parents=True, exist_ok=True)
    settings = Path(home) / "dagster.yaml"
    # One writing run at a time, no telemetry, the pooled event log (also when installed). A file
    # an earlier release wrote, unchanged since, is brought up to date; one edited by hand is kept.
    if not settings.exists() or _sha256(settings.read_bytes()) in _EARLIER_SETTINGS:
        settings.write_text((Path(__file__).parent / "dagster.yaml").read_text())


# sha256 of the dagster.yaml files earlier releases wrote (git log -- sos_pipeline/dagster.yaml).
_EARLIER_SETTINGS = {"58cde7bc008f5020dce3cc135ad7436a15745d999c9e52524cf60c7a4fc4393c",
                     "3d078d5339232c461af44158a37bcbd4f9ed80daf2e696900a8a0fc9de6e6298"}


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _tags() -> dict[str, str]:
    """A CLI run's tags: who started it, and which process runs it (see _settle_abandoned_runs)."""
    import socket

    return {"sos/trigger": "cli", PROCESS_TAG: f"{socket.gethostname()}:{os.getpid()}"}


PROCESS_TAG = "sos/process"


def _settle_abandoned_runs(instance) -> None:
    """Mark failed the runs this command started in a process that has since died (killed, or the
    machine stopped). Dagster cannot tell on its own: a run executed in the CLI's process stays
    "started" for ever, in the UI's run list and for the run queue, which would then never admit
    another writing run (the "warehouse" pool, sos_pipeline/dagster.yaml)."""
    import socket

    from dagster import DagsterRunStatus, RunsFilter

    host = socket.gethostname()
    records = instance.get_run_records(RunsFilter(
        statuses=[DagsterRunStatus.STARTING, DagsterRunStatus.STARTED], tags={"sos/trigger": "cli"}))
    for rec in records:
        where, _, pid = rec.dagster_run.tags.get(PROCESS_TAG, "").rpartition(":")
        if where != host or not pid.isdigit() or _alive(int(pid)):
            continue            # another machine's (or an older release's, untagged) run: not ours to judge
        instance.report_run_failed(rec.dagster_run, f"The process that ran it (pid {pid}) ended before the run "
                                   "finished (killed?). Nothing it left half-done was published; the next "
                                   "refresh takes up what it had queued.")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def refresh(data_dir: Path | None = None, quiet: bool = False) -> int:
    """Take the inbox, load every queued delivery, publish. Returns the exit code."""
    if data_dir is not None:
        os.environ["SOS_DATA_DIR"] = str(data_dir)
    permissions.check()     # owner-only files from here on; a bad SOS_SHARE_GROUP stops here
    _dagster_home()
    import duckdb
    from dagster import DagsterInstance

    from sos_pipeline.definitions import build_definitions
    from sos_pipeline.ingest.intake import pending_list
    from sos_pipeline.warehouse.db import connect, writer_lock

    out = (lambda *a: None) if quiet else print
    config.pseudonym_key()  # refuse early in production without a key; say so with the demo key
    defs = build_definitions()
    paths = config.paths().ensure()
    from sos_pipeline.ingest.audit import now

    started = now()            # the audit's clock (SOS_NOW sets it for tests and demos)
    t0 = time.monotonic()
    failed: list[str] = []
    extracts_line = due_line = ""
    refresh_job = defs.resolve_job_def("refresh")
    # Dagster's console log stays quiet: the coordinator reads one line per delivery here,
    # and everything else is in the run history (UI).
    quiet_logs = {"loggers": {"console": {"config": {"log_level": os.environ.get(
        "SOS_DAGSTER_LOG_LEVEL", "CRITICAL")}}}}
    with writer_lock(paths):
        # Inside the lock: two processes creating a fresh DAGSTER_HOME's run storage at the
        # same moment race on its SQLite schema.
        instance = DagsterInstance.get()
        _settle_abandoned_runs(instance)
        # One run: take the inbox, load the whole queue (validated at once), indicators, publish.
        r = refresh_job.execute_in_process(instance=instance, raise_on_error=False, run_config=quiet_logs,
                                           tags=_tags())
        if not r.success:
            failed.append(f"refresh (run {r.run_id}){_failure_text(r)}")
        due_line = _due_line(r)
        if paths.working_db.exists():
            with connect(paths) as con:     # what became of each delivery, in arrival order
                for delivery, status in con.execute(
                        "SELECT delivery, status FROM audit.deliveries WHERE processed_at >= ? "
                        "ORDER BY received_at, delivery", [started]).fetchall():
                    out(f"  {delivery:<16} {status}")
        still = len(pending_list(paths))
        if still:
            failed.append(f"{still} queued deliveries were not loaded; they stay queued for the next "
                          "refresh")
        if r.success:
            keys = defs.resolve_job_def("extracts").partitions_def.get_partition_keys()
            if keys and _extracts_current(instance, keys):
                extracts_line = ("\nFunder extracts: all built since the published warehouse last changed; "
                                 "nothing to do.")
            else:
                extracts_line = _run_extracts(defs, instance, quiet_logs, failed, keys)
    elapsed = time.monotonic() - t0

    if paths.published.exists():
        con = duckdb.connect(str(paths.published), read_only=True)
        try:
            rows = con.execute(
                "SELECT delivery, status, coalesce(reason, ''), warnings FROM audit.deliveries "
                "WHERE processed_at >= ? ORDER BY status, delivery, processed_at", [started]).fetchall()
            indicators = _indicator_summary(con)
        finally:
            con.close()
    else:
        rows, indicators = [], []
    by = {}
    for d, s, reason, w in rows:
        by.setdefault(s, []).append((d, reason, w))
    out(f"\nRefresh finished in {elapsed:.1f} s.")
    for status in ("accepted", "superseded", "unchanged", "rejected"):
        items = by.get(status, [])
        out(f"  {status:<10} {len(items)}")
        if status in ("rejected", "superseded"):
            for d, reason, _ in items:
                out(f"      {d}: {reason}")
    warned = [(d, w) for d, _, w in by.get("accepted", []) if w]
    if warned:
        out(f"  accepted with warnings: {', '.join(f'{d} ({w})' for d, w in warned[:10])}"
            + (" ..." if len(warned) > 10 else ""))
    if by.get("rejected"):
        out(f"  Rejection reports: {paths.quarantine}/<delivery>/REPORT.md")
    for line in indicators:
        out(line)
    if due_line:
        out(due_line)
    if extracts_line:
        out(extracts_line)
    out(f"\nPublished warehouse: {paths.published}")
    if paths.parquet.is_dir():
        out(f"Parquet files:       {paths.parquet}/ (schema.json: their tables and columns)")
    out(f"Open the Dagster UI:  DAGSTER_HOME={os.environ['DAGSTER_HOME']} "
        f"{Path(sys.executable).parent / 'dagster'} dev -w {config.REPO_ROOT / 'workspace.yaml'}")
    if failed:
        print("\nThe refresh itself failed:", *failed, sep="\n  ", file=sys.stderr)
        return 1
    return 0


def _due_line(result) -> str:
    """What the deliveries_due check of the run said: who has not delivered a month past its due day."""
    from sos_pipeline.defs.publish import DUE_CHECK

    for e in result.get_asset_check_evaluations():
        if e.check_name == DUE_CHECK:
            return (f"\nDeliveries due: {e.description}" if e.passed else
                    f"\nDeliveries due (a warning): {e.description} Every centre and month, with its due "
                    "day and when it arrived: reporting.completeness.")
    return ""


def _failure_text(result) -> str:
    """': <what went wrong>' for a failed run, in the coordinator's words where we can."""
    from sos_pipeline.failures import run_failure_text

    text = run_failure_text(result)
    return f": {text}" if text else ""


def _extracts_current(instance, keys: list[str]) -> bool:
    """Whether every extract has been built since the published warehouse last changed: what the
    extracts' automation condition (defs/extracts.FOLLOW_PUBLISH) says when it requests nothing.
    The warehouse asset's data version is the fingerprint of what the file holds, so "changed"
    is the first materialisation with the current version; storage ids only grow."""
    from dagster import AssetKey, DagsterEventType

    def version(rec):
        return rec.asset_materialization.tags.get("dagster/data_version") if rec.asset_materialization else None

    # newest first; when all 50 hold the current version, the oldest of them stands in for its first
    # publish: extracts built before it are then taken as old (one extracts run too many, at worst)
    recent = instance.fetch_materializations(AssetKey("warehouse"), limit=50).records
    if not recent or version(recent[0]) is None:
        return False
    since = recent[0].storage_id
    for rec in recent:
        if version(rec) != version(recent[0]):
            break
        since = rec.storage_id
    built = instance.get_latest_storage_id_by_partition(
        AssetKey("funder_extract"), DagsterEventType.ASSET_MATERIALIZATION, set(keys))
    return set(built) == set(keys) and min(built.values()) > since


def _run_extracts(defs, instance, run_config, failed: list[str], keys: list[str] | None = None,
                  final: bool = False, partition_key: str | None = None):
    """Build funder extracts in one Dagster run (all of them unless told which)."""
    job = defs.resolve_job_def("finalise_extract" if final else "extracts")
    # run_config replaces the job's own config: say `final` here too
    run_config = {**run_config, "ops": {"funder_extract": {"config": {"final": final}}}}
    if partition_key:
        r = job.execute_in_process(instance=instance, partition_key=partition_key, raise_on_error=False,
                                   run_config=run_config, tags=_tags())
    else:
        keys = keys or job.partitions_def.get_partition_keys()
        if not keys:
            return "\nFunder extracts: none (the project register lists no project)."
        r = job.execute_in_process(instance=instance, raise_on_error=False, run_config=run_config, tags={
            **_tags(), "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1]})
    if not r.success:
        failed.append(f"extracts (run {r.run_id}){_failure_text(r)}")
        return ""
    mats = r.asset_materializations_for_node("funder_extract")
    m = {k: v.value for k, v in mats[0].metadata.items()} if mats else {}
    return (f"\nFunder extracts in {config.paths().reports}: {m.get('written', 0)} written "
            f"({m.get('restated', 0)} restatements of final ones), {m.get('unchanged', 0)} unchanged, "
            f"{m.get('seconds', 0)} s.") if not partition_key else m


def report(project: str, period: str, final: bool = False) -> int:
    """(Re)build one extract from the published warehouse; --final marks it sent."""
    permissions.check()
    _dagster_home()
    from dagster import DagsterInstance

    from sos_pipeline import reference
    from sos_pipeline.definitions import build_definitions
    from sos_pipeline.extracts import store
    from sos_pipeline.extracts.periods import find

    paths = config.paths().ensure()
    ref = reference.load(paths.data)
    try:
        ep = find(ref, project, period)
    except KeyError as exc:
        print(f"sos-pipeline: {exc.args[0]}", file=sys.stderr)
        return 2
    if not paths.published.exists():
        print(f"sos-pipeline: no published warehouse at {paths.published}: run `sos-pipeline refresh` first.",
              file=sys.stderr)
        return 2
    defs = build_definitions()
    quiet_logs = {"loggers": {"console": {"config": {"log_level": os.environ.get(
        "SOS_DAGSTER_LOG_LEVEL", "CRITICAL")}}}}
    failed: list[str] = []
    instance = DagsterInstance.get()
    _settle_abandoned_runs(instance)
    m = _run_extracts(defs, instance, quiet_logs, failed, final=final, partition_key=ep.key)
    if failed:
        print("sos-pipeline: building the extract failed:", *failed, file=sys.stderr)
        return 1
    base = store.folder(paths.reports, ep.project, ep.label)
    vs = store.versions(base)
    if not vs:
        print(f"{ep.key}: no data for {ep.label} ({ep.start} – {ep.end}) yet; nothing written.")
        return 0
    d = store.version_dir(base, vs[-1])
    man = store.manifest(d)
    print(f"{ep.key} ({ep.start} – {ep.end}): version {vs[-1]}"
          + (", FINAL (never written again)" if store.is_final(d) else "")
          + f", {'written' if m.get('written') else 'unchanged'}.")
    print(f"  folder:      {d}")
    print(f"  report.xlsx  sha256 {man['files']['report.xlsx']}")
    print(f"  deliveries:  {len(man['deliveries'])}; generated {man['generated_at']}")
    if "restates" in man:
        r = man["restates"]
        print(f"  restates final version {r['version']}: {r['changed_cells']} numbers changed; see CHANGES.md")
        for why in r["because"][:8]:
            print(f"    - {why}")
    finals = [v for v in vs if store.is_final(store.version_dir(base, v))]
    if finals and finals[-1] != vs[-1]:
        print(f"  final version {finals[-1]} is kept unchanged in {store.version_dir(base, finals[-1])}")
    return 0


def _indicator_summary(con) -> list[str]:
    """A few lines on the indicators just published: how many values, and each project's
    whole-project figures against its targets."""
    try:
        n = con.execute("SELECT count(*) FROM reporting.indicator_values").fetchone()[0]
        targets = con.execute(
            "SELECT project, indicator || coalesce(' ' || breakdown, '') || coalesce(' @' || centre, ''), "
            "actual, target FROM reporting.target_progress WHERE period = 'PTD' "
            "ORDER BY project, indicator, breakdown NULLS FIRST, centre NULLS FIRST").fetchall()
    except Exception:       # a warehouse from before the indicators existed
        return []
    lines = [f"\nIndicators: {n:,} values in reporting.indicator_values."]
    if targets:
        lines.append("  Whole-project figures against targets (reporting.target_progress):")
        lines += [f"    {p:<14} {what:<52} {actual:>6g} / {target:g}" for p, what, actual, target in targets]
    return lines


def sample_data(data_dir: Path | None = None) -> int:
    from sos_pipeline.sample.generator import generate

    paths = (config.Paths(data_dir) if data_dir else config.paths()).ensure()
    summary = generate(paths.inbox)
    deliveries = summary["deliveries"]
    forms: dict[str, int] = {}
    for d in deliveries:
        forms[d["form"]] = forms.get(d["form"], 0) + 1
    print(f"Wrote {len(deliveries)} sample deliveries into {paths.inbox} "
          f"({', '.join(f'{n} {f}' for f, n in sorted(forms.items()))}):")
    c = summary["correction"]
    print(f"  a correction: {c['name']} is delivered twice ({'; '.join(c['changes'])})")
    for name, r in summary["rejected"].items():
        print(f"  to be rejected: {name} ({', '.join(r['rules'])}): {r['why']}")
    return 0


def run() -> None:
    """The command line (`sos-pipeline`, `python -m sos_pipeline`): main(), then the process ends
    at once. Python's own ending of the interpreter, with Great Expectations, Dagster and pandas
    loaded, takes 1–2 s of a refresh's CPU and frees nothing anybody needs: everything main()
    opened is closed (the warehouse's connections, the writer's lock, the Dagster instance's
    storage writes), and the output is flushed here. An exception still ends the usual way, and
    so does a run under a profiler or a tracer (cProfile, coverage): they write at the end."""
    import logging

    code = main()
    if sys.getprofile() is not None or sys.gettrace() is not None:
        raise SystemExit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sos-pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="SOS_DATA_DIR (default: the repository's data/)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("refresh", help="take the inbox, validate, load, publish")
    sub.add_parser("sample-data", help="write the shipped sample deliveries into the inbox")
    rp = sub.add_parser("report", help="(re)build one funder extract: reports/PROJECT/PERIOD/")
    rp.add_argument("project", help="project code, e.g. EEA-2013-150")
    rp.add_argument("period", help="P1, P2, ..., PTD, or a year for yearly projects")
    rp.add_argument("--final", action="store_true",
                    help="mark it final (sent to the funder): never written again; changes make a new version")
    args = parser.parse_args(argv)
    if args.data_dir:
        os.environ["SOS_DATA_DIR"] = str(args.data_dir.resolve())
    try:
        if args.command == "refresh":
            return refresh()
        if args.command == "report":
            return report(args.project, args.period, final=args.final)
        return sample_data()
    except config.ConfigError as exc:
        print(f"sos-pipeline: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from sos_pipeline.reference import ReferenceError
        from sos_pipeline.warehouse.db import WriterBusy

        if isinstance(exc, (ReferenceError, WriterBusy)):
            print(f"sos-pipeline: {exc}", file=sys.stderr)
            return 2
        raise
