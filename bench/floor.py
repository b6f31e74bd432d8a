"""The fair floor for bench/federation.py: the work a perfect pipeline cannot avoid.

    python bench/floor.py SOURCE DATA_DIR OUT.duckdb

SOURCE holds the deliveries as bench/federation.py writes them (<CENTRE>_<YYYY-MM>/<table>.csv,
canonical UTF-8 CSV); DATA_DIR/reference holds centres.yaml and projects.yaml. In one process,
plain DuckDB:
  1. reads every table of every delivery (one read_csv per table over all deliveries, with its
     columns and types given: no sniffing), types the columns as core does (dates, integers,
     risk_factors as a list) and pseudonymises every ref in SQL, into core.* of a new warehouse
     file (the schema of sql/schema/*.sql, via ensure_schema);
  2. records one audit.deliveries row per delivery (received now, accepted): what
     reporting.completeness and the reporting_rate indicators read;
  3. loads the reference data and runs the project's own SQL, with the very functions the
     Dagster assets call (sos_pipeline/indicators/build.py: load_reference, build_base, every
     sql/indicators file, build_values), so reporting.indicator_values and target_progress
     are the pipeline's.
No validation, privacy gate, staging, history, archive, extracts or publish copy.

Pseudonyms: DuckDB SQL has no HMAC, so the stand-in is left(sha256(key || centre || US || ref), 32):
one SHA-256 per ref over a short message, the same cost class as HMAC-SHA256 (which is two
SHA-256 compressions over a padded key block). The indicator values do not depend on which
keyed hash is used, only on (centre, ref) -> pseudonym being one-to-one.
Prints one line: `FLOOR <seconds> s <core rows> rows <indicator rows> values`.
"""
from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from sos_pipeline import contract, reference  # noqa: E402
from sos_pipeline.indicators.build import build_base, build_family, build_values, load_reference  # noqa: E402
from sos_pipeline.indicators.catalogue import families  # noqa: E402
from sos_pipeline.warehouse.db import ensure_schema  # noqa: E402

DUCK_TYPE = {contract.DATE: "DATE", contract.INT: "INTEGER", contract.YEAR: "INTEGER",
             contract.NUMBER: "DOUBLE"}           # everything else is text
NAME = r"'([A-Z0-9]+)_(\d{4}-\d{2})'"


def pseudonym_sql(col: str, key: str) -> str:
    """The stand-in keyed hash: 32 hex characters of sha256(key || centre || US || ref)."""
    return f"left(sha256('{key}' || centre || chr(31) || \"{col}\"), 32)"


def load_table(con, source: Path, name: str, key: str) -> int:
    table = contract.TABLES[name]
    files = sorted(source.glob(f"*/{name}.csv"))
    if not files:
        return 0
    header = files[0].read_text(encoding="utf-8").split("\n", 1)[0].strip().split(",")
    if header != list(table.column_names):       # canonical deliveries: the contract's order
        raise SystemExit(f"{files[0]}: header {header} is not the contract's {table.column_names}")
    columns = ", ".join(f"'{c.name}': '{DUCK_TYPE.get(c.kind, 'VARCHAR')}'" for c in table.columns)
    select = []
    for c in table.columns:
        if c.kind == contract.REF:
            select.append(f"{pseudonym_sql(c.name, key)} AS \"{c.name}\"")
        elif c.kind == contract.CODE_LIST:
            select.append(f"list_filter(list_transform(string_split(\"{c.name}\", ';'), lambda x: trim(x)), "
                          f"lambda x: x <> '') AS \"{c.name}\"")
        else:
            select.append(f"\"{c.name}\"")
    con.execute(f"""
        INSERT INTO core.{name}
        SELECT centre, month, delivery, NULL, {', '.join(select)}
        FROM (SELECT regexp_extract(filename, {NAME}, 1) AS centre,
                     CAST(regexp_extract(filename, {NAME}, 2) || '-01' AS DATE) AS month,
                     regexp_extract(filename, '([A-Z0-9]+_\\d{{4}}-\\d{{2}})', 1) AS delivery, *
              FROM read_csv('{source}/*/{name}.csv', filename = true, header = true,
                            auto_detect = false, columns = {{{columns}}}))""")
    return con.execute(f"SELECT count(*) FROM core.{name}").fetchone()[0]


def run(source: Path, data: Path, out: Path, key: str = "bench-key") -> dict:
    t0 = time.perf_counter()
    out.unlink(missing_ok=True)
    con = duckdb.connect(str(out))
    con.execute("SET enable_progress_bar = false")
    ensure_schema(con)
    rows = sum(load_table(con, source, name, key) for name in contract.TABLES)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    con.execute("INSERT INTO audit.deliveries SELECT DISTINCT delivery_sha256, centre, month, ?, "
                "delivery_sha256, 'accepted', NULL, 'csv-utf8', ?, NULL, NULL, NULL FROM core.families",
                [now, now])
    load_reference(con, reference.load(data))
    build_base(con)
    for f in families():
        build_family(con, f)
    out_ = build_values(con)
    con.execute("CHECKPOINT")
    con.close()
    return {"seconds": time.perf_counter() - t0, "rows": rows, "values": out_["rows"]}


if __name__ == "__main__":
    r = run(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
    print(f"FLOOR {r['seconds']:.3f} s {r['rows']} rows {r['values']} values")
