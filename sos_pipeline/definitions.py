"""The Dagster code location: `dagster dev -w workspace.yaml` loads this module.

Loading must stay fast: no great_expectations, no pandas at import.
"""
from __future__ import annotations

from pathlib import Path

import dagster as dg

from sos_pipeline import config, reference
from sos_pipeline.defs import automation, extracts, indicators, ingest, publish
from sos_pipeline.defs.partitions import delivery_partitions
from sos_pipeline.defs.resources import Warehouse


def build_definitions(data_dir: str | None = None) -> dg.Definitions:
    data_dir = str(data_dir or config.data_dir())
    ref = reference.load(Path(data_dir))  # strict: a bad file stops here
    partitions = delivery_partitions(ref)
    archived, loading = ingest.build(partitions)
    core, loaded = ingest.CORE, ingest.LOADED
    reporting = indicators.build([core, loaded])
    warehouse = publish.build([core, loaded], indicators.VALUES)
    due_check = publish.deliveries_due_check(warehouse)   # runs with `warehouse` in refresh and publish
    extract_parts = extracts.extract_partitions(ref)
    funder_extract = extracts.build(extract_parts, warehouse)
    assets = [archived, loading, reporting, warehouse, funder_extract]
    intake_job = dg.define_asset_job(
        "intake", selection=[archived],
        description="Take every delivery out of the inbox: archive, reject bad names, queue the rest.")
    refresh_job = dg.define_asset_job(
        "refresh", selection=dg.AssetSelection.assets(archived, loaded, reporting, warehouse),
        description="What `sos-pipeline refresh`, the inbox sensor and the nightly schedule run: take the "
                    "inbox, load every queued delivery (validated all at once; failing ones quarantined), "
                    "rebuild the indicators, publish, check that every centre has delivered its months past "
                    "their due day (deliveries_due, a warning). The funder extracts follow when what is "
                    "published changed (the extracts_follow_publish sensor; `sos-pipeline refresh` builds "
                    "them itself).")
    load_job = dg.define_asset_job(
        "load_delivery", selection=dg.AssetSelection.assets(core),
        description="Load the deliveries queued for the centre-months you pick (one run, however many "
                    "partitions): the same loading as `refresh`, validated by the same suites, each "
                    "centre-month's `validation` check passed or failed. Run `intake` first if the "
                    "export is still in the inbox, and `publish` after.")
    publish_job = dg.define_asset_job(
        "publish", selection=[reporting, warehouse],
        description="Rebuild the indicators (reporting.*) from what core holds, and publish the working "
                    "warehouse as warehouse.duckdb.")
    extracts_job = dg.define_asset_job(
        "extracts", selection=[funder_extract],
        description="(Re)build funder extracts from the published warehouse: one partition per project "
                    "and period (reports/<PROJECT>/<PERIOD>/). Final extracts are never rewritten.")
    finalise_job = dg.define_asset_job(
        "finalise_extract", selection=[funder_extract],
        config={"ops": {"funder_extract": {"config": {"final": True}}}},
        description="Mark one extract final once it has been sent to the funder (pick its partition): "
                    "it is rebuilt if anything changed, then its files are never written again. A later "
                    "change to its numbers writes a new version beside it.")
    sensor, schedule, follow = automation.build(refresh_job, funder_extract)
    # One process per run, not one per step: the steps share one import of the reader and of
    # Great Expectations (~5 s), and they run one after the other anyway (single writer).
    return dg.Definitions(
        executor=dg.in_process_executor,
        assets=assets, asset_checks=[due_check],
        jobs=[intake_job, refresh_job, load_job, publish_job, extracts_job, finalise_job],
        sensors=[sensor, follow], schedules=[schedule],
        resources={"warehouse": Warehouse(data_dir=data_dir, chunk_rows=config.chunk_rows(),
                                           extract_workers=config.extract_workers(),
                                           duckdb_memory=config.duckdb_memory())})


@dg.definitions
def defs() -> dg.Definitions:
    """What `dagster dev -w workspace.yaml` loads: built when the code location loads (lazily: importing
    this module reads no reference data and builds nothing)."""
    return build_definitions()
