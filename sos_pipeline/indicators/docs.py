"""Generated docs of the indicator layer: the data dictionary (from the warehouse's own table
and column comments) and the indicator catalogue (from catalogue.yaml)."""
from __future__ import annotations

import tempfile
from pathlib import Path

SCHEMA_ORDER = {"reporting": 0, "audit": 1, "core": 2, "derived": 3}
SCHEMA_TEXT = {
    "reporting": "What analysts query: indicator values, target progress, the catalogue, who has "
                 "delivered, periods and the reference data. Stable names: indicator_values, "
                 "target_progress, indicator_catalogue, completeness (warehouse.md).",
    "audit": "What became of every delivery, and the findings of validation.",
    "core": "Every accepted delivery's rows, pseudonymised (refs are keyed hashes), one centre-month "
            "replaced at a time.",
    "derived": "The indicator build's working tables, in the working file only "
               "(`SOS_DATA_DIR/.work/warehouse.duckdb`): the intermediate tables the indicator SQL builds "
               "on, and what the next build compares with. The published warehouse.duckdb holds only "
               "`derived.build_state` (what it was made from): the others are several times the size of "
               "everything analysts read. Their shape may change.",
}


def empty_warehouse_comments() -> list[tuple]:
    """(schema, table, kind, comment, [(column, type, comment)]) of a freshly built warehouse."""
    import duckdb

    from sos_pipeline import config, reference
    from sos_pipeline.indicators import incremental
    from sos_pipeline.indicators.build import build_base, build_family, build_values, load_reference
    from sos_pipeline.indicators.catalogue import families
    from sos_pipeline.warehouse.db import ensure_schema

    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "dictionary.duckdb"))
        try:
            ensure_schema(con)
            load_reference(con, reference.load(config.SHIPPED_REFERENCE.parent / "__none__"))
            build_base(con)
            for f in families():
                build_family(con, f)
            build_values(con, record=incremental.record)
            tables = con.execute(
                "SELECT schema_name, table_name, 'table', comment FROM duckdb_tables() "
                "UNION ALL SELECT schema_name, view_name, 'view', comment FROM duckdb_views() "
                "WHERE NOT internal AND schema_name NOT IN ('main', 'pg_catalog', 'information_schema')"
            ).fetchall()
            cols = {}
            for s, t, c, ty, cm in con.execute(
                    "SELECT schema_name, table_name, column_name, data_type, comment FROM duckdb_columns() "
                    "WHERE NOT internal ORDER BY schema_name, table_name, column_index").fetchall():
                cols.setdefault((s, t), []).append((c, ty, cm))
        finally:
            con.close()
    out = [(s, t, k, cm, cols.get((s, t), [])) for s, t, k, cm in tables
           if not (s == "main" or s.startswith("temp"))]
    return sorted(out, key=lambda x: (SCHEMA_ORDER.get(x[0], 9), x[1]))


def _cell(text) -> str:
    return str(text or "").replace("|", "\\|").replace("\n", " ")


def data_dictionary() -> str:
    lines = ["# Data dictionary", "",
             "Generated from the table and column comments of the warehouse itself "
             "(`python -m sos_pipeline.docs`; a test keeps it current). The same text is in DuckDB: "
             "`SELECT * FROM duckdb_columns() WHERE schema_name = 'reporting'`.", ""]
    tables = empty_warehouse_comments()
    current = None
    lines += ["| schema | tables |", "|---|---|"]
    for schema in sorted({t[0] for t in tables}, key=lambda s: SCHEMA_ORDER.get(s, 9)):
        names = ", ".join(f"`{t[1]}`" for t in tables if t[0] == schema)
        lines.append(f"| `{schema}` | {SCHEMA_TEXT.get(schema, '')} {names} |")
    lines.append("")
    for schema, table, kind, comment, cols in tables:
        if schema != current:
            lines += [f"## Schema `{schema}`", "", SCHEMA_TEXT.get(schema, ""), ""]
            current = schema
        lines += [f"### `{schema}.{table}`", "", _cell(comment), "", "| column | type | meaning |",
                  "|---|---|---|"]
        lines += [f"| `{c}` | {ty} | {_cell(cm)} |" for c, ty, cm in cols]
        lines.append("")
    return "\n".join(lines)


def indicator_catalogue() -> str:
    from sos_pipeline.indicators.catalogue import catalogue

    lines = ["# Indicator catalogue", "",
             "Generated from `sos_pipeline/indicators/catalogue.yaml` (`python -m sos_pipeline.docs`). "
             "How each one is computed, scopes and periods included, is in "
             "[indicators.md](indicators.md). The same catalogue "
             "is in the warehouse as `reporting.indicator_catalogue`.", "",
             "| indicator | name (LV) | name (EN) | unit | breakdowns | computed by |", "|---|---|---|---|---|---|"]
    for i in catalogue():
        src = "entered by hand (projects.yaml `manual_values`)" if i.manual else f"`sql/indicators/{i.sql}.sql`"
        lines.append(f"| `{i.indicator}` | {i.name_lv} | {i.name_en} | {i.unit} | "
                     f"{', '.join(f'`{b}`' for b in i.breakdowns) or '—'} | {src} |")
    lines.append("")
    for i in catalogue():
        lines += [f"## `{i.indicator}` — {i.name_en} / {i.name_lv}", "", i.definition, ""]
    return "\n".join(lines)
