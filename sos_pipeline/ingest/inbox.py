"""Take every entry out of the inbox: archive it, then reject it, note it as unchanged, or queue it.

What the `archived_deliveries` asset runs, first in every refresh. File work is in intake.py,
audit rows in audit.py; the queue it fills is loaded by batch.load_queue.
"""
from __future__ import annotations

from sos_pipeline.config import Paths
from sos_pipeline.faults import pause_point
from sos_pipeline.ingest import audit, intake
from sos_pipeline.ingest.report import summary
from sos_pipeline.reference import Reference
from sos_pipeline.warehouse.db import connect, transaction


def screen_inbox(paths: Paths, ref: Reference) -> list[intake.IntakeOutcome]:
    """Archive every inbox entry, then reject it (bad name, unknown centre, month not ended, ...),
    note it as unchanged (identical to the accepted version, or already queued) or queue it."""
    paths.ensure()
    outcomes = []
    with connect(paths) as con:
        queued = {(p.delivery, p.sha256) for p in intake.pending_list(paths)}
        accepted = audit.accepted_versions(con)     # intake accepts nothing: read once
        for n, entry in enumerate(intake.inbox_entries(paths)):
            received = audit.now()
            stem, centre, month, problem = intake.check_name(entry, ref)
            try:
                sha = intake.sha256_of(entry)
                if stem == intake.WITHHELD:     # the name holds personal data: never repeated
                    stem = intake.withheld_name(sha)
                arch = intake.archive(paths, entry, stem, sha, received)
            except Exception as exc:  # noqa: BLE001 - one entry never fails the run; it stays in the inbox
                why = (exc.strerror if isinstance(exc, OSError) else None) or type(exc).__name__
                outcomes.append(intake.IntakeOutcome(
                    stem, "", "rejected", f"cannot be read or archived ({why}); it stays in the inbox"))
                continue
            rel = arch.relative_to(paths.data).as_posix()
            form = intake.delivery_form(entry)
            if problem:
                known = centre in ref.centres
                intake.write_quarantine(paths, stem, sha, [problem], arch, received.isoformat())
                with transaction(con):
                    audit.record_rejected(con, delivery=stem, centre=centre if known else None,
                                          month=month if known else None, received_at=received, sha=sha,
                                          reason=summary([problem]), form=form, archive_path=rel,
                                          findings=[problem])
                outcomes.append(intake.IntakeOutcome(
                    stem, sha, "rejected", summary([problem]), centre if known else None,
                    f"{month:%Y-%m}" if known and month else None, (problem,)))
            elif accepted.get((centre, month)) == sha:
                audit.record(con, delivery=stem, centre=centre, month=month, received_at=received, sha=sha,
                             status="unchanged", reason="identical to the accepted version", form=form,
                             archive_path=rel)
                outcomes.append(intake.IntakeOutcome(stem, sha, "unchanged", "", centre, f"{month:%Y-%m}"))
            elif (stem, sha) in queued:
                outcomes.append(intake.IntakeOutcome(stem, sha, "unchanged", "already queued",
                                                     centre, f"{month:%Y-%m}"))
            else:
                seq = f"{received:%Y%m%dT%H%M%S}-{n:05d}-{sha[:8]}"
                intake.add_pending(paths, intake.Pending(stem, centre, f"{month:%Y-%m}", sha,
                                                         received.isoformat(), rel, form, seq))
                queued.add((stem, sha))
                outcomes.append(intake.IntakeOutcome(stem, sha, "pending", "", centre, f"{month:%Y-%m}"))
            intake.remove_from_inbox(entry)
            pause_point("ingest")
    return outcomes
