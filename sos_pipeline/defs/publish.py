"""Publish: the working warehouse becomes warehouse.duckdb by atomic rename."""

import dagster as dg

from sos_pipeline.defs.resources import Warehouse


def build(core_assets, indicator_values):
    @dg.asset(group_name="publish", deps=[*core_assets, indicator_values], kinds={"duckdb"},
              description="The published warehouse.duckdb analysts open read-only: a complete copy of "
                          "the working file, swapped in by atomic rename (readers never see a half-built "
                          "state and never block the refresh).")
    def warehouse(context: dg.AssetExecutionContext, warehouse: Warehouse):
        import duckdb

        from sos_pipeline.warehouse.publish import publish

        paths = warehouse.paths()
        out = publish(paths)
        con = duckdb.connect(str(paths.published), read_only=True)
        try:
            status = dict(con.execute("SELECT status, count(*) FROM audit.deliveries GROUP BY 1").fetchall())
            months = con.execute(
                "SELECT centre, count(DISTINCT month), min(month), max(month) FROM core.families "
                "GROUP BY 1 ORDER BY 1").fetchall()
        finally:
            con.close()
        lines = ["| centre | months loaded | first | last |", "|---|---|---|---|"]
        lines += [f"| {c} | {n} | {a:%Y-%m} | {b:%Y-%m} |" for c, n, a, b in months]
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(out["path"]), "size_bytes": out["bytes"],
            "deliveries_by_status": dg.MetadataValue.json(status),
            "months_loaded": dg.MetadataValue.md("\n".join(lines)),
        })

    return warehouse
