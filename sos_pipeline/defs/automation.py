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


def refresh_requests(paths, tag: str) -> list[dg.RunRequest]:
    """Runs that take the inbox, load what is queued, and publish: what `sos-pipeline refresh` does."""
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
    return requests


def build(jobs):
    @dg.sensor(jobs=jobs, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Notices deliveries dropped into the inbox (and deliveries queued for loading) "
                           "and starts the runs that load and publish them.")
    def inbox_sensor(context: dg.SensorEvaluationContext):
        requests = refresh_requests(config.paths(), "sensor")
        if not requests:
            return dg.SkipReason("The inbox is empty and nothing is waiting to be loaded.")
        return requests

    @dg.schedule(cron_schedule="0 2 * * *", execution_timezone="Europe/Riga", job=jobs[0],
                 default_status=dg.DefaultScheduleStatus.RUNNING,
                 description="The nightly refresh, 02:00 Riga time: take the inbox, load, publish.")
    def nightly_refresh(context: dg.ScheduleEvaluationContext):
        paths = config.paths()
        requests = refresh_requests(paths, context.scheduled_execution_time.strftime("%Y%m%d"))
        return requests or [dg.RunRequest(job_name="publish",
                                          run_key=f"nightly-publish-{context.scheduled_execution_time:%Y%m%d}")]

    return inbox_sensor, nightly_refresh
