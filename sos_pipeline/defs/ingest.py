"""Ingest: inbox -> archive (archived_deliveries) -> staging (staged_delivery) -> checks -> core.

The heavy modules (pandas, the reader, Great Expectations) are imported inside the
asset functions, so the code location loads fast.
"""

import dagster as dg

from sos_pipeline import contract
from sos_pipeline.defs.resources import Warehouse

SUITES = ("structure_and_privacy", *contract.TABLES, "cross_table")


def _warn_demo_key(context) -> None:
    from sos_pipeline import config

    if config.using_demo_key():
        context.log.warning("SOS_PSEUDONYM_KEY is not set: pseudonyms use the DEMO key and are "
                            "not secret. Set SOS_PSEUDONYM_KEY before loading real data.")


def _outcome_table(rows: list[dict]) -> dg.MetadataValue:
    lines = ["| delivery | status | reason |", "|---|---|---|"]
    lines += [f"| {r['delivery']} | {r['status']} | {r['reason'] or ''} |" for r in rows]
    return dg.MetadataValue.md("\n".join(lines))


def build(partitions: dg.PartitionsDefinition):
    @dg.asset(group_name="ingest", kinds={"filesystem"},
              description="Takes every delivery out of the inbox: archives it byte for byte with its "
                          "sha256, rejects malformed names, unknown centres and months not yet ended "
                          "(quarantine), notes identical re-deliveries as unchanged, and queues the rest "
                          "for loading.")
    def archived_deliveries(context: dg.AssetExecutionContext, warehouse: Warehouse):
        from sos_pipeline.ingest.load import screen_inbox

        outcomes = screen_inbox(warehouse.paths(), warehouse.reference())
        rows = [{"delivery": o.delivery, "status": o.status, "reason": o.reason} for o in outcomes]
        for o in outcomes:
            if o.status == "rejected":
                context.log.warning(f"{o.delivery} rejected at intake: {o.reason}")
        return dg.MaterializeResult(metadata={
            "received": len(outcomes),
            "queued": sum(o.status == "pending" for o in outcomes),
            "rejected": sum(o.status == "rejected" for o in outcomes),
            "unchanged": sum(o.status == "unchanged" for o in outcomes),
            "deliveries": _outcome_table(rows),
        })

    @dg.asset(group_name="ingest", partitions_def=partitions, deps=[archived_deliveries],
              kinds={"duckdb"},
              description="Reads the centre-month's next queued delivery (or re-reads the accepted one "
                          "from the archive) in its dialect, runs the privacy gate and replaces refs by "
                          "keyed pseudonyms, and stages it in the working warehouse for validation.")
    def staged_delivery(context: dg.AssetExecutionContext, warehouse: Warehouse):
        from sos_pipeline import config
        from sos_pipeline.ingest.load import stage

        _warn_demo_key(context)
        staged = stage(warehouse.paths(), warehouse.reference(), context.partition_key)
        if staged is None:
            raise dg.Failure(f"No delivery for {context.partition_key}: nothing queued in the inbox "
                             "and none accepted before. Drop the centre's export into the inbox.")
        errors = [f for f in staged.findings if f.severity == "error"]
        return dg.MaterializeResult(metadata={
            "delivery": staged.delivery, "sha256": staged.sha256, "form": staged.form,
            "reload_of_accepted_version": staged.reload,
            "pseudonym_key": "DEMO key (not secret)" if config.using_demo_key() else "SOS_PSEUDONYM_KEY",
            "readable_and_private": not errors,
            "rows_read": dg.MetadataValue.json(staged.row_counts),
            "total_rows_read": sum(staged.row_counts.values()),
        })

    @dg.multi_asset_check(
        specs=[dg.AssetCheckSpec(name=s, asset=staged_delivery, blocking=True,
                                 description=f"Great Expectations suite '{s}' (docs/validation-rules.md)"
                                 if s != "structure_and_privacy" else
                                 "Files readable, required tables and columns present, no personal data.")
               for s in SUITES],
        can_subset=False)
    def delivery_checks(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        """Validation of the staged delivery. Any error rejects the whole delivery (quarantine)."""
        from sos_pipeline.ingest.load import note_findings, reject, validate

        partition = context.run.tags.get("dagster/partition") if context.run else None
        paths, ref = warehouse.paths(), warehouse.reference()
        results = validate(paths, ref, partition)
        all_findings = [f for fs in results.values() for f in fs]
        errors = [f for f in all_findings if f.severity == "error"]
        unreadable = any(f.severity == "error" for f in results["structure_and_privacy"])
        if errors:
            reason = reject(paths, partition, all_findings)
            context.log.warning(f"{partition}: delivery rejected: {reason}")
        else:
            note_findings(paths, partition, all_findings)  # warnings go into the audit on load
        for suite in SUITES:
            fs = results.get(suite, [])
            errs = [f for f in fs if f.severity == "error"]
            warns = [f for f in fs if f.severity == "warning"]
            meta = {"errors": len(errs), "warnings": len(warns),
                    "findings": dg.MetadataValue.json([f.as_dict() for f in fs][:100])}
            not_run = unreadable and suite != "structure_and_privacy"
            if not_run:
                meta["note"] = "not run: the delivery was rejected before validation"
            yield dg.AssetCheckResult(
                check_name=suite, asset_key=staged_delivery.key,
                passed=not errs and not warns and not not_run,
                severity=dg.AssetCheckSeverity.ERROR if errs else dg.AssetCheckSeverity.WARN,
                metadata=meta)

    @dg.asset(group_name="ingest", partitions_def=partitions, deps=[staged_delivery],
              kinds={"duckdb"},
              description="Replaces the centre-month in the core tables by the validated delivery, in one "
                          "transaction, and records it as accepted (the previous version as superseded).")
    def core_delivery(context: dg.AssetExecutionContext, warehouse: Warehouse):
        from sos_pipeline.ingest.load import load_core

        paths = warehouse.paths()
        info, counts = load_core(paths, context.partition_key)
        warnings = [f for f in info["findings"] if f.severity == "warning"]
        return dg.MaterializeResult(metadata={
            "delivery": info["delivery"], "sha256": info["sha256"], "status": "accepted",
            "rows_loaded": dg.MetadataValue.json(counts), "total_rows_loaded": sum(counts.values()),
            "warnings": len(warnings),
            "warning_rules": dg.MetadataValue.md("\n".join(
                f"- `{f.rule}` ({f.table}, {f.count or len(f.rows)} row(s): "
                f"{', '.join(map(str, f.rows[:10]))})" for f in warnings) or "none"),
            "preview": dg.MetadataValue.md(_preview(paths, context.partition_key)),
        })

    @dg.asset(group_name="ingest", deps=[archived_deliveries], kinds={"duckdb"},
              description="Loads every queued delivery in one run: reads them (dialects, privacy gate, "
                          "pseudonyms), validates them all at once with the Great Expectations suites, "
                          "quarantines the failing ones and loads the rest into core, one transaction per "
                          "round. Same outcome as loading them one by one in arrival order "
                          "(sos_pipeline/ingest/batch.py); each loaded centre-month shows as a "
                          "materialisation of core_delivery.")
    def loaded_deliveries(context: dg.AssetExecutionContext, warehouse: Warehouse):
        from sos_pipeline.ingest.batch import load_queue

        _warn_demo_key(context)
        result = load_queue(warehouse.paths(), warehouse.reference(), log=context.log.info)
        for o in result.outcomes:
            if o.status == "accepted":
                context.log_event(dg.AssetMaterialization(
                    asset_key=core_delivery.key, partition=o.partition,
                    metadata={"delivery": o.delivery, "sha256": o.sha256, "status": "accepted",
                              "total_rows_loaded": o.rows, "warnings": o.warnings,
                              "loaded_by": "loaded_deliveries (a batch)"}))
            else:
                context.log.warning(f"{o.delivery} rejected: {o.reason}")
        rows = [{"delivery": o.delivery, "status": o.status, "reason": o.reason} for o in result.outcomes]
        return dg.MaterializeResult(metadata={
            "accepted": result.count("accepted"), "rejected": result.count("rejected"),
            "rows_loaded": sum(o.rows for o in result.outcomes if o.status == "accepted"),
            "chunks": result.chunks, "validation_rounds": result.rounds,
            "seconds": dg.MetadataValue.json(result.seconds),
            "findings_by_suite": dg.MetadataValue.json(result.suite_findings),
            "deliveries": _outcome_table(rows[:500]),
        })

    return archived_deliveries, staged_delivery, delivery_checks, core_delivery, loaded_deliveries


def _preview(paths, partition: str) -> str:
    """What the month holds, without a single ref: counts by service and by family profile."""
    import datetime as dt


    centre, month = partition.split("|")
    m = dt.date.fromisoformat(month + "-01")
    from sos_pipeline.warehouse.db import connect

    with connect(paths) as con:
        services = con.execute(
            "SELECT service, count(*) AS contacts, count(DISTINCT family_ref) AS families, "
            "round(sum(minutes) / 60.0, 1) AS hours FROM core.services WHERE centre = ? AND month = ? "
            "GROUP BY service ORDER BY contacts DESC", [centre, m]).fetchall()
        fam = con.execute(
            "SELECT territory_type, target_group, count(*) FROM core.families WHERE centre = ? AND "
            "month = ? GROUP BY ALL ORDER BY ALL", [centre, m]).fetchall()
    lines = ["| service | contacts | families | hours |", "|---|---|---|---|"]
    lines += [f"| {s} | {c} | {f} | {h if h is not None else ''} |" for s, c, f, h in services]
    lines += ["", "| territory type | target group | families listed |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {n} |" for a, b, n in fam]
    return "\n".join(lines)
