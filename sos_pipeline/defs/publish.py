"""Publish: the working warehouse becomes warehouse.duckdb by atomic rename; a check on it says
whether every centre has delivered its latest month that is past its due day."""

import dagster as dg

from sos_pipeline.defs.resources import WRITER_POOL, Warehouse


def build(core_assets, indicator_values):
    @dg.asset(group_name="publish", deps=[*core_assets, indicator_values], kinds={"duckdb", "parquet"},
              pool=WRITER_POOL,
              description="The published warehouse.duckdb analysts open read-only: a complete copy of "
                          "the working file in the storage format DuckDB 1.4 and later read, swapped in by "
                          "atomic rename (readers never see a half-built state and never block the "
                          "refresh); and parquet/, every reporting table and audit.deliveries as Parquet "
                          "with schema.json (their comments), swapped in whole right after it.")
    def warehouse(context: dg.AssetExecutionContext, warehouse: Warehouse):
        import duckdb

        from sos_pipeline.warehouse.publish import publish_if_changed

        paths = warehouse.paths()
        out = publish_if_changed(paths)
        # The data version is the fingerprint of what the file holds (warehouse/state.py): the
        # funder extracts follow a change of it (defs/extracts.FOLLOW_PUBLISH), not every publish.
        version = dg.DataVersion(out["fingerprint"]) if out.get("fingerprint") else None
        if out.get("unchanged"):
            return dg.MaterializeResult(data_version=version, metadata={
                "path": dg.MetadataValue.path(out["path"]), "unchanged": True,
                "why": "The published warehouse already holds exactly this state (same deliveries, audit, "
                       "reference data, code and day): not copied again."})
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
        return dg.MaterializeResult(data_version=version, metadata={
            "path": dg.MetadataValue.path(out["path"]), "size_bytes": out["bytes"],
            "parquet": dg.MetadataValue.path(out["parquet"]), "parquet_tables": len(out["parquet_tables"]),
            "deliveries_by_status": dg.MetadataValue.json(status),
            "months_loaded": dg.MetadataValue.md("\n".join(lines)),
        })

    return warehouse


DUE_CHECK = "deliveries_due"


def overdue_months(con, today) -> tuple[list[tuple], list[tuple]]:
    """Each centre's latest month whose due day is before `today` (centre, 'YYYY-MM', due_on,
    status), from reporting.completeness; and those of them with no accepted delivery."""
    latest = con.execute(
        "SELECT centre, strftime(month, '%Y-%m'), due_on, status FROM reporting.completeness "
        "WHERE due_on < ? QUALIFY row_number() OVER (PARTITION BY centre ORDER BY month DESC) = 1 "
        "ORDER BY centre", [today]).fetchall()
    return latest, [r for r in latest if r[3] != "accepted"]


def due_text(latest: list[tuple], overdue: list[tuple]) -> str:
    """One sentence for the UI and the refresh summary: centre codes and months only. Centres in
    the same case are named together (`C01, C02 2026-10 (nothing received, due 2026-11-10)`), so
    that a federation of 80 centres late with the same month is one clause, not 80."""
    if overdue:
        what = {"missing": "nothing received", "rejected": "rejected, no accepted version yet"}
        return "Overdue: " + "; ".join(_together(
            (c, m, f" ({what.get(s, s)}, due {d:%Y-%m-%d})") for c, m, d, s in overdue)) + "."
    if not latest:
        return "No centre has a month past its due day yet."
    return "Every centre has delivered its latest month past its due day (" + \
        "; ".join(_together((c, m, "") for c, m, _, _ in latest)) + ")."


def _together(entries) -> list[str]:
    """(centre, month, what) -> "centre, centre month what", one per month and what, in order."""
    groups: dict[tuple, list[str]] = {}
    for centre, month, what in entries:
        groups.setdefault((month, what), []).append(centre)
    return [f"{', '.join(centres)} {month}{what}" for (month, what), centres in groups.items()]


def deliveries_due_check(warehouse_asset):
    @dg.asset_check(asset=warehouse_asset, name=DUE_CHECK, blocking=False,
                    description="Has every centre delivered? Warns (yellow, never blocks) when a centre's "
                                "latest month whose due day has passed (centres.yaml due_day, default the "
                                "10th of the next month) has no accepted delivery: nothing received, or only "
                                "rejected ones. Read from reporting.completeness of the published warehouse; "
                                "names centre codes and months only.")
    def deliveries_due(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        import duckdb

        from sos_pipeline.ingest.intake import today

        day = today()
        con = duckdb.connect(str(warehouse.paths().published), read_only=True)
        try:
            latest, overdue = overdue_months(con, day)
        except duckdb.CatalogException:     # published by a version from before the table existed
            return dg.AssetCheckResult(
                passed=False, severity=dg.AssetCheckSeverity.WARN,
                description="The published warehouse has no reporting.completeness yet: run a refresh "
                            "(or the publish job) first.")
        finally:
            con.close()
        lines = ["| centre | latest month past its due day | due on | status |", "|---|---|---|---|"]
        lines += [f"| {c} | {m} | {d:%Y-%m-%d} | {s} |" for c, m, d, s in latest]
        return dg.AssetCheckResult(
            passed=not overdue, severity=dg.AssetCheckSeverity.WARN,
            description=due_text(latest, overdue),
            metadata={
                "checked_on": day.isoformat(),
                "overdue_centres": ", ".join(dict.fromkeys(c for c, *_ in overdue)) or "none",
                "missing": dg.MetadataValue.json([f"{c} {m}" for c, m, _, s in overdue if s == "missing"]),
                "rejected": dg.MetadataValue.json([f"{c} {m}" for c, m, _, s in overdue if s == "rejected"]),
                "latest_due_months": dg.MetadataValue.md("\n".join(lines)),
            })

    return deliveries_due
