"""The nightly schedule and the inbox sensor. They read only files, never the warehouse,
so they never wait for (or block) a writing run."""

import hashlib

import dagster as dg

from sos_pipeline import config


def _inbox_signature(paths) -> str | None:
    if not paths.inbox.is_dir():
        return None
    entries = sorted((e.name, e.stat().st_mtime_ns) for e in paths.inbox.iterdir()
                     if not e.name.startswith(".") and not e.name.endswith(".partial"))
    return hashlib.sha256(repr(entries).encode()).hexdigest()[:16] if entries else None


def all_extracts(keys: list[str], run_key: str) -> dg.RunRequest:
    """One run that builds every extract (the asset's single-run backfill policy)."""
    return dg.RunRequest(job_name="extracts", run_key=run_key, tags={
        "dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]})


def refresh_requests(paths, tag: str, extract_keys: list[str] = ()) -> list[dg.RunRequest]:
    """Runs that take the inbox, load what is queued, publish and rebuild the extracts: what
    `sos-pipeline refresh` does. The run queue runs them one at a time, in this order."""
    from sos_pipeline.ingest.intake import pending_list

    requests = []
    sig = _inbox_signature(paths)
    if sig:
        requests.append(dg.RunRequest(job_name="intake", run_key=f"{tag}-intake-{sig}"))
    pending = pending_list(paths) if paths.pending.is_dir() else []
    for p in pending:
        requests.append(dg.RunRequest(job_name="load_delivery", partition_key=p.partition,
                                      run_key=f"{tag}-load-{p.seq}", tags={"sos/delivery": p.delivery}))
    if pending:
        digest = hashlib.sha256("".join(p.seq for p in pending).encode()).hexdigest()[:16]
        requests.append(dg.RunRequest(job_name="publish", run_key=f"{tag}-publish-{digest}"))
        if extract_keys:
            requests.append(all_extracts(list(extract_keys), f"{tag}-extracts-{digest}"))
    return requests


def build(jobs, extract_keys: list[str]):
    @dg.sensor(jobs=jobs, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Notices deliveries dropped into the inbox (and deliveries queued for loading) "
                           "and starts the runs that load and publish them.")
    def inbox_sensor(context: dg.SensorEvaluationContext):
        requests = refresh_requests(config.paths(), "sensor", extract_keys)
        if not requests:
            return dg.SkipReason("The inbox is empty and nothing is waiting to be loaded.")
        return requests

    @dg.schedule(cron_schedule="0 2 * * *", execution_timezone="Europe/Riga", job=jobs[0],
                 default_status=dg.DefaultScheduleStatus.RUNNING,
                 description="The nightly refresh, 02:00 Riga time: take the inbox, load, publish, rebuild the "
                             "funder extracts.")
    def nightly_refresh(context: dg.ScheduleEvaluationContext):
        paths = config.paths()
        day = context.scheduled_execution_time.strftime("%Y%m%d")
        requests = refresh_requests(paths, day, extract_keys)
        return requests or [dg.RunRequest(job_name="publish", run_key=f"nightly-publish-{day}"),
                            all_extracts(list(extract_keys), f"nightly-extracts-{day}")]

    return inbox_sensor, nightly_refresh
