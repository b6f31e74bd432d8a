"""Benchmark: the indicator build at federation scale, beside one plain DuckDB query.

    python bench/indicators.py [--centres 80] [--months 72] [--keep DIR]

1. Simulates N centres x M months with the sample-data generator (the BAU and VAL knobs,
   cycled under new centre codes; every project covers every centre).
2. Writes the rows into the core tables of a fresh warehouse file, pseudonymised as the
   pipeline does (this is set-up, not measured: the ingest pipeline's own speed is issue 5's).
3. Times the indicator build (the same functions the Dagster assets run: reference, base,
   every sql/indicators file, indicator_values and target_progress).
3b. Removes one contact from the last month of the first centre and times the build a refresh
   then makes (the periods ending on or after that month: sos_pipeline/indicators/incremental.py),
   and checks that it gives the numbers of a build of every period.
4. Times one plain DuckDB query computing monthly families_served per centre on the same
   core tables (the floor: one GROUP BY over the activity tables).
Prints the figures; asserts nothing about time.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sos_pipeline import contract, reference  # noqa: E402
from sos_pipeline.indicators.build import (build_base, build_family, build_values,  # noqa: E402
                                           load_reference)
from sos_pipeline.indicators.catalogue import families  # noqa: E402
from sos_pipeline.ingest.pseudonym import pseudonym  # noqa: E402
from sos_pipeline.sample import generator  # noqa: E402
from sos_pipeline.warehouse.db import ensure_schema  # noqa: E402

PLAIN_QUERY = """
SELECT centre, month, count(DISTINCT family_ref) AS families_served
FROM (SELECT centre, month, family_ref FROM core.services
      UNION ALL SELECT a.centre, a.month, a.family_ref FROM core.group_attendance a
      UNION ALL SELECT p.centre, p.month, p.family_ref FROM core.event_participants p)
GROUP BY centre, month
"""


def federation(n_centres: int, months: int):
    """Knobs and reference data for n centres, cycling the shipped centres' knobs."""
    shipped = reference.load(Path("/nonexistent"))
    base = list(generator.KNOBS.values())
    first = dt.date(2018, 12, 1)
    y, m = first.year, first.month - (months - 1)
    while m < 1:
        y, m = y - 1, m + 12
    start = dt.date(y, m, 1)
    centres, knobs = {}, {}
    for i in range(n_centres):
        k = base[i % len(base)]
        code = f"C{i + 1:02d}"
        centres[code] = reference.Centre(code, f"Centrs {code}", f"Centre {code}", start)
        knobs[code] = dataclasses.replace(k, code=code)
    projects = {c: dataclasses.replace(p, centres=tuple(centres)) for c, p in shipped.projects.items()}
    return knobs, reference.Reference(centres, projects)


def load_core(con, deliveries, key: bytes) -> dict[str, int]:
    rows: dict[str, list[dict]] = {t: [] for t in contract.TABLES}
    for d in deliveries:
        month = dt.date(d.year, d.month, 1)
        for t, table_rows in d.tables.items():
            for i, r in enumerate(table_rows, 2):
                r = dict(r)
                for col in contract.REF_COLUMNS:
                    if r.get(col):
                        r[col] = pseudonym(key, d.centre, str(r[col]))
                if t == "families":
                    r["risk_factors"] = r["risk_factors"].split(";") if r.get("risk_factors") else None
                rows[t].append(dict(centre=d.centre, month=month, delivery_sha256="bench", source_row=i, **r))
    counts = {}
    for t, rs in rows.items():
        cols = [c[0] for c in con.execute(f"DESCRIBE core.{t}").fetchall()]
        df = pd.DataFrame(rs, columns=cols)
        con.register("df", df)
        con.execute(f"INSERT INTO core.{t} SELECT * FROM df")
        con.unregister("df")
        counts[t] = len(rs)
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--centres", type=int, default=80)
    ap.add_argument("--months", type=int, default=72)
    ap.add_argument("--keep", type=Path, help="keep the benchmark warehouse in this folder")
    args = ap.parse_args(argv)

    knobs, ref = federation(args.centres, args.months)
    t = time.perf_counter()
    # The calibration to the published figures concerns BAU and VAL only: not here.
    deliveries = generator.simulate(seed=2013, knobs=knobs, ref=ref, calibrate=False)
    print(f"simulated {args.centres} centres x {args.months} months: {len(deliveries)} deliveries "
          f"in {time.perf_counter() - t:.1f} s")

    folder = args.keep or Path(tempfile.mkdtemp(prefix="sos-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bench.duckdb"
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    ensure_schema(con)
    t = time.perf_counter()
    counts = load_core(con, deliveries, b"bench-key")
    con.execute("CHECKPOINT")
    print(f"core rows: {sum(counts.values()):,} ({', '.join(f'{k} {v:,}' for k, v in counts.items())}); "
          f"written in {time.perf_counter() - t:.1f} s (set-up, not measured)")

    steps = {}
    t0 = time.perf_counter()
    t = t0
    load_reference(con, ref)
    build_base(con)
    steps["reference + periods + scoped activity"] = time.perf_counter() - t
    for f in families():
        t = time.perf_counter()
        build_family(con, f)
        steps[f"sql/indicators/{f}.sql"] = time.perf_counter() - t
    t = time.perf_counter()
    out = build_values(con)
    steps["indicator_values + target_progress"] = time.perf_counter() - t
    build = time.perf_counter() - t0

    # 3b. One corrected month: what the incremental build recomputes, against a build of every period.
    centre, month = con.execute("SELECT centre, max(month) FROM core.services WHERE centre = "
                                "(SELECT min(centre) FROM core.services) GROUP BY centre").fetchone()
    con.execute("DELETE FROM core.services WHERE rowid = (SELECT max(rowid) FROM core.services "
                "WHERE centre = ? AND month = ?)", [centre, month])
    t = time.perf_counter()
    build_base(con, since=month)
    for f in families():
        build_family(con, f, since=month)
    build_values(con, since=month)
    incremental = time.perf_counter() - t
    after = sorted(con.execute("SELECT * FROM reporting.indicator_values").fetchall(), key=repr)
    build_base(con)
    for f in families():
        build_family(con, f)
    build_values(con)
    same = after == sorted(con.execute("SELECT * FROM reporting.indicator_values").fetchall(), key=repr)

    timings = []
    for _ in range(3):
        t = time.perf_counter()
        n = len(con.execute(PLAIN_QUERY).fetchall())
        timings.append(time.perf_counter() - t)
    plain = min(timings)
    con.close()

    print(f"\nindicator build: {build:.2f} s wall ({out['rows']:,} indicator rows, "
          f"{out['targets']} target rows)")
    for name, s in steps.items():
        print(f"    {s:7.2f} s  {name}")
    print(f"after one contact less in {centre} {month:%Y-%m}: {incremental:.2f} s for the periods ending on "
          f"or after {month:%Y-%m-%d} ({'the same numbers as' if same else 'NOT the numbers of'} a build of "
          "every period)")
    print(f"plain DuckDB query, monthly families_served per centre ({n:,} rows): {plain:.3f} s "
          f"(best of 3)")
    print(f"ratio: {build / plain:.0f}x   (the build computes {out['rows']:,} values over every scope "
          f"and period; the plain query one series)")
    print(f"warehouse: {path} ({path.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
