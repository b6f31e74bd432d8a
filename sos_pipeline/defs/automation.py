"""The nightly schedule and the inbox sensor, which start the refresh run; and the sensor that
evaluates the extracts' automation condition (defs/extracts.FOLLOW_PUBLISH), which starts the
extracts run once the refresh has published something new. The first two read only files, never
the warehouse, so they never wait for (or block) a writing run."""

import hashlib

import dagster as dg

from sos_pipeline import config
from sos_pipeline.defs.extracts import SENSOR


def _inbox_signature(paths) -> str | None:
    if not paths.inbox.is_dir():
        return None
    entries = sorted((e.name, e.stat().st_mtime_ns) for e in paths.inbox.iterdir()
                     if not e.name.startswith(".") and not e.name.endswith(".partial"))
    return hashlib.sha256(repr(entries).encode()).hexdigest()[:16] if entries else None


def refresh_requests(paths, tag: str) -> list[dg.RunRequest]:
    """The run that takes the inbox, loads what is queued and publishes: what `sos-pipeline refresh`
    does (the extracts follow by their automation condition)."""
    from sos_pipeline.ingest.intake import pending_list

    sig = _inbox_signature(paths)
    pending = pending_list(paths) if paths.pending.is_dir() else []
    if not sig and not pending:
        return []
    # One run takes the inbox, loads the whole queue at once and publishes (its cost is mostly
    # fixed: one run for 100 deliveries costs little more than one for 1).
    digest = hashlib.sha256(((sig or "") + "".join(p.seq for p in pending)).encode()).hexdigest()[:16]
    return [dg.RunRequest(job_name="refresh", run_key=f"{tag}-refresh-{digest}",
                          tags={"sos/queued": str(len(pending))})]


def build(refresh_job, extracts_asset):
    @dg.sensor(job=refresh_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Notices deliveries dropped into the inbox (and deliveries queued for loading) "
                           "and starts the runs that load and publish them.")
    def inbox_sensor(context: dg.SensorEvaluationContext):
        requests = refresh_requests(config.paths(), "sensor")
        if not requests:
            return dg.SkipReason("The inbox is empty and nothing is waiting to be loaded.")
        return requests

    @dg.schedule(cron_schedule="0 2 * * *", execution_timezone="Europe/Riga", job=refresh_job,
                 default_status=dg.DefaultScheduleStatus.RUNNING,
                 description="The nightly refresh, 02:00 Riga time: take the inbox, load, publish (the funder "
                             "extracts follow when the published warehouse changed).")
    def nightly_refresh(context: dg.ScheduleEvaluationContext):
        paths = config.paths()
        day = context.scheduled_execution_time.strftime("%Y%m%d")
        return refresh_requests(paths, day) or [dg.RunRequest(job_name="refresh", run_key=f"nightly-refresh-{day}")]

    follow = dg.AutomationConditionSensorDefinition(
        SENSOR, target=[extracts_asset], default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=30,
        description="Evaluates the funder extracts' automation condition: when a run has published a warehouse "
                    "whose content changed (its data version), one run rebuilds every extract whose numbers "
                    "changed (the others are found unchanged and left as they are).")
    return inbox_sensor, nightly_refresh, follow
