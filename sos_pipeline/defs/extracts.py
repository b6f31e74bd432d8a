"""Funder extracts: one partition per project and period, derived from projects.yaml (a new
project brings its partitions without a code change). Built from the published warehouse
whenever what it holds changes (FOLLOW_PUBLISH, evaluated by the `extracts_follow_publish`
sensor; `sos-pipeline refresh` builds them itself right after its publish); a run may cover
one partition (the UI, `sos-pipeline report`) or all of them (one run, BackfillPolicy.single_run)."""

import time
import warnings

import dagster as dg

from sos_pipeline import reference
from sos_pipeline.defs.resources import REPORTS_POOL, Warehouse

GROUP = "extracts"
SENSOR = "extracts_follow_publish"

# Dagster's eager condition, with "a dependency was updated" narrowed to "the published warehouse's
# data version changed": the warehouse asset's data version is the fingerprint of what the file
# holds (defs/publish.py), so a refresh that publishes nothing new requests no extracts. As with
# eager: not while an upstream step or an extracts run is in progress, nor before a first publish;
# a new project's partitions (new in projects.yaml) are requested once the warehouse exists.
FOLLOW_PUBLISH = dg.AutomationCondition.eager().replace(
    dg.AutomationCondition.any_deps_updated(),
    dg.AutomationCondition.any_deps_match(dg.AutomationCondition.data_version_changed()).with_label(
        "published warehouse changed")).with_label("follows the published warehouse")


def extract_partitions(ref: reference.Reference) -> dg.StaticPartitionsDefinition:
    from sos_pipeline.extracts.periods import all_periods
    return dg.StaticPartitionsDefinition(list(all_periods(ref)))


class ExtractConfig(dg.Config):
    final: bool = False
    """Mark the extract final (sent to the funder): its files are never written again."""


def build(partitions: dg.StaticPartitionsDefinition, warehouse_asset):
    # BackfillPolicy is marked beta; its warning would be printed on every CLI run.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return _build(partitions, warehouse_asset)


def _build(partitions: dg.StaticPartitionsDefinition, warehouse_asset):
    @dg.asset(group_name=GROUP, partitions_def=partitions, deps=[warehouse_asset], kinds={"xlsx", "html", "csv"},
              backfill_policy=dg.BackfillPolicy.single_run(), pool=REPORTS_POOL,
              automation_condition=FOLLOW_PUBLISH,
              description="Funder report extract for one project and period, under "
                          "reports/<PROJECT>/<PERIOD>/: report.xlsx, report.html with charts, a CSV per "
                          "sheet, manifest.json. Small cells suppressed. Read from the published "
                          "warehouse, whenever what it holds changes. A final extract is never rewritten; "
                          "a change writes a new version.")
    def funder_extract(context: dg.AssetExecutionContext, config: ExtractConfig, warehouse: Warehouse):
        from sos_pipeline.extracts import build as build_extracts

        keys = context.partition_keys
        rows = []

        def log(o):
            rows.append(o)
            if o.status in ("unchanged", "final-unchanged", "no-data"):
                return      # in the metadata table; a log line each would cost an event each
            context.log.info(f"{o.key}: {o.status}" + (f" v{o.version}" if o.version else "")
                             + (" (final)" if o.final else "") + (f": {o.message}" if o.message else ""))

        t0 = time.perf_counter()
        list(build_extracts(warehouse.paths(), warehouse.reference(), keys, final=config.final, log=log,
                            workers=warehouse.extract_workers))
        seconds = round(time.perf_counter() - t0, 2)    # the wall time: projects may be built side by side
        table = ["| extract | outcome | version | final | changed numbers | seconds |", "|---|---|---|---|---|---|"]
        table += [f"| {o.key} | {o.status} | {o.version or ''} | {'yes' if o.final else ''} | "
                  f"{len(o.changes) if o.changes else ''} | {o.seconds} |" for o in rows]
        meta = {"extracts": dg.MetadataValue.md("\n".join(table)),
                "written": sum(o.status in ("written", "restated") for o in rows),
                "unchanged": sum(o.status in ("unchanged", "final-unchanged") for o in rows),
                "restated": sum(o.status == "restated" for o in rows),
                "seconds": seconds}
        if len(rows) == 1 and rows[0].folder:
            meta["folder"] = dg.MetadataValue.path(str(rows[0].folder))
            meta["version"] = rows[0].version
            meta["final"] = rows[0].final
        return dg.MaterializeResult(metadata=meta)

    return funder_extract
