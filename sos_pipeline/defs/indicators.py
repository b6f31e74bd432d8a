"""Indicator assets: reference data and scoped activity (`reporting_base`) -> one asset per
sql/indicators file (`indicators_<family>`) -> reporting.indicator_values and
reporting.target_progress (`indicator_values`). Each asset is one transaction on the working
warehouse; the publish step makes them visible to analysts.

They are computed by one op, `build_indicators` (a multi-asset): a Dagster step costs about
0.2 s of bookkeeping whatever it does, and eleven steps made a refresh with nothing new take
seconds. Each asset still has its own materialisation and metadata, and the UI can still pick
a subset: it is computed for every period, on periods and scopes computed again (the derived
tables may hold only the periods the last build recomputed), and with `indicator_values` in it
every family is computed, since their tables are what it collects; only the picked assets are
recorded. When nothing they depend on changed since
the last build (warehouse/state.py: no accepted delivery, reference data, code or day), the
op says so and computes nothing. When only deliveries changed, it recomputes only the periods
they can touch (indicators/incremental.py); each asset's metadata says which.
"""

import time

import dagster as dg

from sos_pipeline.defs.resources import WRITER_POOL, Warehouse
from sos_pipeline.indicators.catalogue import catalogue, families, indicators_of

GROUP = "indicators"
BASE, VALUES = dg.AssetKey("reporting_base"), dg.AssetKey("indicator_values")


def family_key(family: str) -> dg.AssetKey:
    return dg.AssetKey(f"indicators_{family}")


def _md_table(header: list[str], rows) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in r) + " |" for r in rows]
    return dg.MetadataValue.md("\n".join(lines))


def _family_spec(family: str) -> dg.AssetSpec:
    names = indicators_of(family)
    source = "reference data (manual_values)" if family == "manual" else f"sql/indicators/{family}.sql"
    return dg.AssetSpec(family_key(family), group_name=GROUP, deps=[BASE], kinds={"duckdb", "sql"}, skippable=True,
                        description=f"{', '.join(names)}: computed by {source} for every scope and period.")


def build(core_assets):
    specs = [
        dg.AssetSpec(BASE, group_name=GROUP, deps=core_assets, kinds={"duckdb", "sql"}, skippable=True,
                     description="Reference data (centres, projects, budgets, targets, manual values) and "
                                 "the indicator catalogue into reporting.*; periods and scopes "
                                 "(sql/reporting/periods.sql), activity in scope "
                                 "(sql/reporting/scoped_activity.sql) and who has delivered which month, "
                                 "by its due day (reporting.completeness, sql/reporting/completeness.sql)."),
        *[_family_spec(f) for f in families()],
        dg.AssetSpec(VALUES, group_name=GROUP, deps=[family_key(f) for f in families()], kinds={"duckdb"},
                     description="reporting.indicator_values: every indicator of the catalogue for every "
                                 "scope and period (collected from the indicator families), and "
                                 "reporting.target_progress: each target against its project-to-date "
                                 "actual for every reporting period."),
    ]

    @dg.multi_asset(name="build_indicators", specs=specs, can_subset=True, pool=WRITER_POOL,
                    description="Computes the indicators (sos_pipeline/indicators/build.py), one asset "
                                "after the other, each in one transaction.")
    def build_indicators(context: dg.AssetExecutionContext, warehouse: Warehouse):
        from sos_pipeline.indicators import incremental
        from sos_pipeline.warehouse import state
        from sos_pipeline.warehouse.db import connect, transaction

        paths = warehouse.paths()
        selected = context.selected_asset_keys
        whole = selected == {s.key for s in specs}
        with connect(paths) as con:
            ctx = state.context_fingerprint(paths.data)
            fingerprint = state.indicators_fingerprint(con, paths.data, ctx)
            if state.stored(con, state.INDICATORS) == fingerprint:
                # Only the asset publishing waits for says so: every event costs (README,
                # "Performance"), and the others keep their last materialisation, which is true.
                if VALUES in selected:
                    yield dg.MaterializeResult(asset_key=VALUES, metadata={
                        "unchanged": True, "why": "Nothing the indicators depend on changed since the "
                        "last build (no accepted delivery, reference data, code or day): nothing computed."})
                return
            # A subset picked in the UI is computed for every period, on a base computed whole: the
            # derived tables a previous build left may hold only the periods it recomputed.
            plan = (incremental.plan(con, ctx, state.stored(con, incremental.CONTEXT)) if whole
                    else incremental.Plan(None, None, "a subset of the indicator assets: every period"))
            context.log.info(f"Indicators: {plan.why}.")

            def record(c):
                incremental.record(c)
                state.store(c, state.INDICATORS, fingerprint)
                state.store(c, incremental.CONTEXT, ctx)

            if plan.months == 0:
                with transaction(con):
                    record(con)
                if VALUES in selected:
                    yield dg.MaterializeResult(asset_key=VALUES, metadata={
                        "unchanged": True, "why": "No delivery of a known centre-month changed since the "
                        "last build: nothing computed."})
                return
            if BASE in selected:
                yield _base(con, warehouse, plan)
            elif not whole:
                from sos_pipeline.indicators.build import build_base
                build_base(con)
            families_now = families() if VALUES in selected else [f for f in families() if family_key(f) in selected]
            for f in families_now:
                result = _family(con, f, plan)
                if family_key(f) in selected:
                    yield result
            if VALUES in selected:
                yield _values(con, plan, record)

    return build_indicators


def _plan_metadata(plan) -> dict:
    return {"periods_computed": "every period" if plan.full else f"ending on or after {plan.since.isoformat()}",
            "why": plan.why}


def _base(con, warehouse: Warehouse, plan) -> dg.MaterializeResult:
    from sos_pipeline.indicators.build import build_base, load_reference

    t0 = time.perf_counter()
    load_reference(con, warehouse.reference())
    build_base(con, since=plan.since)
    periods = con.execute("SELECT coalesce(project, 'ALL'), count(*), min(period_start), max(period_end) "
                          "FROM reporting.periods GROUP BY 1 ORDER BY 1").fetchall()
    delivered = con.execute(
        "SELECT centre, count(*), count(*) FILTER (WHERE status = 'accepted'), "
        "count(*) FILTER (WHERE on_time), count(*) FILTER (WHERE status = 'rejected'), "
        "count(*) FILTER (WHERE status = 'missing'), strftime(max(month), '%Y-%m') "
        "FROM reporting.completeness GROUP BY centre ORDER BY centre").fetchall()
    return dg.MaterializeResult(asset_key=BASE, metadata={
        "seconds": round(time.perf_counter() - t0, 3), **_plan_metadata(plan),
        "periods": _md_table(["project", "periods", "from", "to"], periods),
        "months_delivered": _md_table(["centre", "months expected", "accepted", "on time", "rejected",
                                       "missing", "up to"], delivered)})


def _family(con, family: str, plan) -> dg.MaterializeResult:
    from sos_pipeline.indicators.build import WHOLE, build_family

    t0 = time.perf_counter()
    rows = build_family(con, family, plan.since)
    per = con.execute(f"SELECT indicator, count(*), count(DISTINCT period) FROM derived.values_{family} "
                      "GROUP BY 1 ORDER BY 1").fetchall()
    computed = "every period" if plan.full or family in WHOLE else f"ending on or after {plan.since.isoformat()}"
    return dg.MaterializeResult(asset_key=family_key(family), metadata={
        "rows": rows, "seconds": round(time.perf_counter() - t0, 3), "periods_computed": computed,
        "by_indicator": _md_table(["indicator", "rows", "periods"], per)})


def _values(con, plan, record) -> dg.MaterializeResult:
    from sos_pipeline.indicators.build import build_values

    t0 = time.perf_counter()
    counts = build_values(con, plan.since, record)
    progress = con.execute(
        "SELECT project, indicator, coalesce(breakdown, ''), coalesce(centre, 'ALL'), target, actual, "
        "round(100 * achievement) || ' %' FROM reporting.target_progress WHERE period = 'PTD' "
        "ORDER BY ALL").fetchall()
    latest = con.execute(
        "SELECT period, coalesce(centre, 'ALL'), value FROM reporting.indicator_values "
        "WHERE indicator = 'families_served' AND project IS NULL AND period_type = 'month' "
        "AND breakdown IS NULL ORDER BY period_start DESC, centre NULLS FIRST LIMIT 12").fetchall()
    return dg.MaterializeResult(asset_key=VALUES, metadata={
        "rows": counts["rows"], "target_rows": counts["targets"], **_plan_metadata(plan),
        "indicators": len(catalogue()),
        "seconds": round(time.perf_counter() - t0, 3),
        "targets_whole_project": _md_table(
            ["project", "indicator", "breakdown", "centre", "target", "actual", "achievement"], progress),
        "families_served_latest_months": _md_table(["month", "centre", "families"], latest)})
