"""Ingest: inbox -> archive (archived_deliveries) -> validated and loaded (core_delivery).

There is one loading path. `load_deliveries` is one op with two assets: `core_delivery`,
partitioned by centre and month, and `loaded_deliveries`, the queue as a whole. Whatever
starts it — `sos-pipeline refresh`, the inbox sensor, the nightly schedule (the whole
queue: `loaded_deliveries`) or the coordinator materialising some centre-months of
`core_delivery` in the UI (one run, whatever the number: single-run backfill policy) — it
runs ingest.batch.load_queue over what is queued, and records for every centre-month it
settled a materialisation of `core_delivery` (accepted) and an evaluation of its blocking
`validation` check (passed, or failed with the rules broken). Intake records its own
rejections (a bad name, ...) on the same check.

The heavy modules (pandas, the reader, Great Expectations) are imported inside the op, so
the code location loads fast.
"""

import dagster as dg

from sos_pipeline.defs import records
from sos_pipeline.defs.records import CHECK, CORE
from sos_pipeline.defs.resources import WRITER_POOL, Warehouse

LOADED = dg.AssetKey("loaded_deliveries")


def _warn_demo_key(context) -> None:
    from sos_pipeline import config

    if config.using_demo_key():
        context.log.warning("SOS_PSEUDONYM_KEY is not set: pseudonyms use the DEMO key and are "
                            "not secret. Set SOS_PSEUDONYM_KEY before loading real data.")


def _outcome_table(rows: list[dict]) -> dg.MetadataValue:
    lines = ["| delivery | centre-month | status | reason |", "|---|---|---|---|"]
    lines += [f"| {r['delivery']} | {r.get('partition') or ''} | {r['status']} | {r['reason'] or ''} |"
              for r in rows]
    return dg.MetadataValue.md("\n".join(lines))


def _validation_check(partitions: dg.PartitionsDefinition) -> dg.AssetCheckSpec:
    import warnings

    with warnings.catch_warnings():     # partitioned checks are a preview in Dagster 1.13
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(
            CHECK, asset=CORE, partitions_def=partitions, blocking=True,
            description="Every suite of docs/validation-rules.md on the centre-month's delivery: files "
                        "readable, no personal data, each table's rules, the cross-table rules. A "
                        "failure means the delivery was rejected (quarantine) and core kept what it "
                        "had; the metadata names each suite's rules and row counts, never a value.")


def build(partitions: dg.PartitionsDefinition):

    @dg.asset(group_name="ingest", kinds={"filesystem"}, pool=WRITER_POOL,
              description="Takes every delivery out of the inbox: archives it byte for byte with its "
                          "sha256, rejects malformed names, unknown centres and months not yet ended "
                          "(quarantine; a failed `validation` check on the centre-month when there is "
                          "one), notes identical re-deliveries as unchanged, and queues the rest for "
                          "loading.")
    def archived_deliveries(context: dg.AssetExecutionContext, warehouse: Warehouse):
        from sos_pipeline.ingest.inbox import screen_inbox

        outcomes = screen_inbox(warehouse.paths(), warehouse.reference())
        rows = [{"delivery": o.delivery, "status": o.status, "reason": o.reason,
                 "partition": f"{o.centre}|{o.month}" if o.centre and o.month else ""} for o in outcomes]
        for o in outcomes:
            if o.status == "rejected":
                context.log.warning(f"{o.delivery} rejected at intake: {o.reason}")
        records.record_intake_rejections(context, outcomes, partitions)
        return dg.MaterializeResult(metadata={
            "received": len(outcomes),
            "queued": sum(o.status == "pending" for o in outcomes),
            "rejected": sum(o.status == "rejected" for o in outcomes),
            "unchanged": sum(o.status == "unchanged" for o in outcomes),
            "deliveries": _outcome_table(rows),
        })

    @dg.multi_asset(
        name="load_deliveries",
        specs=[
            dg.AssetSpec(CORE, group_name="ingest", partitions_def=partitions, skippable=True,
                         deps=[archived_deliveries], kinds={"duckdb"},
                         description="The centre-month in core.*: its accepted delivery, validated by the "
                                     "Great Expectations suites and loaded in one transaction (the "
                                     "previous version recorded as superseded). Materialise partitions "
                                     "here to load what is queued for them."),
            dg.AssetSpec(LOADED, group_name="ingest", skippable=True, deps=[archived_deliveries],
                         kinds={"duckdb"},
                         description="Every queued delivery, loaded in one run: read (dialects, privacy "
                                     "gate, pseudonyms), validated all at once, the failing ones "
                                     "quarantined, the rest loaded into core. Each centre-month it settles "
                                     "shows on core_delivery with its `validation` check."),
        ],
        check_specs=[_validation_check(partitions)],
        can_subset=True, backfill_policy=dg.BackfillPolicy.single_run(), pool=WRITER_POOL,
        description="The one loading path (sos_pipeline/ingest/batch.py).")
    def load_deliveries(context: dg.AssetExecutionContext, warehouse: Warehouse):
        from sos_pipeline.ingest.intake import pending_list

        whole_queue = LOADED in context.selected_asset_keys
        chosen = None if whole_queue else list(context.partition_keys)
        paths = warehouse.paths()
        queued = [p for p in pending_list(paths) if chosen is None or p.partition in chosen]
        outcomes, extra = [], {}
        if queued:      # (nothing queued: not even the reader and pandas are imported)
            from sos_pipeline.ingest.batch import load_queue

            _warn_demo_key(context)
            result = load_queue(paths, warehouse.reference(), log=context.log.info, partitions=chosen,
                                chunk_rows=warehouse.chunk_rows)
            outcomes = result.outcomes
            extra = {"chunks": result.chunks, "validation_rounds": result.rounds,
                     "seconds": dg.MetadataValue.json(result.seconds),
                     "findings_by_suite": dg.MetadataValue.json(result.suite_findings)}
        for o in outcomes:
            if o.status == "rejected":
                context.log.warning(f"{o.delivery} rejected: {o.reason}")
        records.record_outcomes(context, paths, outcomes)
        counts = records.tag_run(context, paths)
        if chosen is not None and not outcomes:
            raise dg.Failure(
                f"Nothing is queued for {', '.join(chosen[:5])}{' ...' if len(chosen) > 5 else ''}: core "
                "keeps what it had. Drop the centre's export into the inbox and run `intake` (or "
                "`refresh`, which takes the inbox and loads everything queued).")
        if whole_queue:
            rows = [{"delivery": o.delivery, "partition": o.partition, "status": o.status, "reason": o.reason}
                    for o in outcomes]
            yield dg.MaterializeResult(asset_key=LOADED, metadata={
                **{status: n for status, n in counts.items()},
                "rows_loaded": sum(o.rows for o in outcomes if o.status == "accepted"),
                **extra, "deliveries": _outcome_table(rows[:500]),
            })

    return archived_deliveries, load_deliveries

