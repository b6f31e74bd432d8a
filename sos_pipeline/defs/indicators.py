"""Indicator assets: reference data and scoped activity -> one asset per sql/indicators file ->
reporting.indicator_values and reporting.target_progress. Each asset is one transaction on the
working warehouse; the publish step makes them visible to analysts."""

import time

import dagster as dg

from sos_pipeline.defs.resources import Warehouse
from sos_pipeline.indicators.catalogue import catalogue, families, indicators_of

GROUP = "indicators"


def _md_table(header: list[str], rows) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in r) + " |" for r in rows]
    return dg.MetadataValue.md("\n".join(lines))


def _family_asset(family: str, base: dg.AssetsDefinition) -> dg.AssetsDefinition:
    names = indicators_of(family)
    source = "reference data (manual_values)" if family == "manual" else f"sql/indicators/{family}.sql"

    @dg.asset(name=f"indicators_{family}", group_name=GROUP, deps=[base], kinds={"duckdb", "sql"},
              description=f"{', '.join(names)}: computed by {source} for every scope and period.")
    def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse):
        from sos_pipeline.indicators.build import build_family
        from sos_pipeline.warehouse.db import connect

        t0 = time.perf_counter()
        with connect(warehouse.paths()) as con:
            rows = build_family(con, family)
            per = con.execute(f"SELECT indicator, count(*), count(DISTINCT period) FROM derived.values_{family} "
                              "GROUP BY 1 ORDER BY 1").fetchall()
        return dg.MaterializeResult(metadata={
            "rows": rows, "seconds": round(time.perf_counter() - t0, 3),
            "by_indicator": _md_table(["indicator", "rows", "periods"], per)})

    return _asset


def build(core_assets):
    @dg.asset(group_name=GROUP, deps=core_assets, kinds={"duckdb", "sql"},
              description="Reference data (centres, projects, budgets, targets, manual values) and the "
                          "indicator catalogue into reporting.*; periods and scopes "
                          "(sql/reporting/periods.sql), activity in scope (sql/reporting/scoped_activity.sql) "
                          "and who has delivered which month, by its due day (reporting.completeness, "
                          "sql/reporting/completeness.sql).")
    def reporting_base(context: dg.AssetExecutionContext, warehouse: Warehouse):
        from sos_pipeline.indicators.build import build_base, load_reference
        from sos_pipeline.warehouse.db import connect

        t0 = time.perf_counter()
        with connect(warehouse.paths()) as con:
            load_reference(con, warehouse.reference())
            build_base(con)
            periods = con.execute("SELECT coalesce(project, 'ALL'), count(*), min(period_start), max(period_end) "
                                  "FROM reporting.periods GROUP BY 1 ORDER BY 1").fetchall()
            delivered = con.execute(
                "SELECT centre, count(*), count(*) FILTER (WHERE status = 'accepted'), "
                "count(*) FILTER (WHERE on_time), count(*) FILTER (WHERE status = 'rejected'), "
                "count(*) FILTER (WHERE status = 'missing'), strftime(max(month), '%Y-%m') "
                "FROM reporting.completeness GROUP BY centre ORDER BY centre").fetchall()
        return dg.MaterializeResult(metadata={
            "seconds": round(time.perf_counter() - t0, 3),
            "periods": _md_table(["project", "periods", "from", "to"], periods),
            "months_delivered": _md_table(["centre", "months expected", "accepted", "on time", "rejected",
                                           "missing", "up to"], delivered)})

    family_assets = [_family_asset(f, reporting_base) for f in families()]

    @dg.asset(group_name=GROUP, deps=family_assets, kinds={"duckdb"},
              description="reporting.indicator_values: every indicator of the catalogue for every scope and "
                          "period (collected from the indicator families), and reporting.target_progress: "
                          "each target against its project-to-date actual for every reporting period.")
    def indicator_values(context: dg.AssetExecutionContext, warehouse: Warehouse):
        from sos_pipeline.indicators.build import build_values
        from sos_pipeline.warehouse.db import connect

        t0 = time.perf_counter()
        with connect(warehouse.paths()) as con:
            counts = build_values(con)
            progress = con.execute(
                "SELECT project, indicator, coalesce(breakdown, ''), coalesce(centre, 'ALL'), target, actual, "
                "round(100 * achievement) || ' %' FROM reporting.target_progress WHERE period = 'PTD' "
                "ORDER BY ALL").fetchall()
            latest = con.execute(
                "SELECT period, coalesce(centre, 'ALL'), value FROM reporting.indicator_values "
                "WHERE indicator = 'families_served' AND project IS NULL AND period_type = 'month' "
                "AND breakdown IS NULL ORDER BY period_start DESC, centre NULLS FIRST LIMIT 12").fetchall()
        return dg.MaterializeResult(metadata={
            "rows": counts["rows"], "target_rows": counts["targets"],
            "indicators": len(catalogue()),
            "seconds": round(time.perf_counter() - t0, 3),
            "targets_whole_project": _md_table(
                ["project", "indicator", "breakdown", "centre", "target", "actual", "achievement"], progress),
            "families_served_latest_months": _md_table(["month", "centre", "families"], latest)})

    return [reporting_base, *family_assets, indicator_values]
