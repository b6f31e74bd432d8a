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

    sig = _inbox_signature(paths)
    pending = pending_list(paths) if paths.pending.is_dir() else []
    if not sig and not pending:
        return []
    # One run takes the inbox, loads the whole queue at once and publishes (its cost is mostly
    # fixed: one run for 100 deliveries costs little more than one for 1).
    digest = hashlib.sha256(((sig or "") + "".join(p.seq for p in pending)).encode()).hexdigest()[:16]
    requests = [dg.RunRequest(job_name="refresh", run_key=f"{tag}-refresh-{digest}",
                              tags={"sos/queued": str(len(pending))})]
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
        return requests or [dg.RunRequest(job_name="refresh", run_key=f"nightly-refresh-{day}"),
                            *([all_extracts(list(extract_keys), f"nightly-extracts-{day}")]
                              if extract_keys else [])]

    return inbox_sensor, nightly_refresh
