"""Benchmark: DuckDB's own CSV reader against the pipeline's reading, on federation deliveries.

    python bench/csv_readers.py [--centres 10] [--months 72] [--keep DIR] [--repeat 3]

The question (issue "One loading path", item 2): should UTF-8 CSV files be read by DuckDB's
`read_csv` rather than parsed in Python? A delivery is a folder of 5 small CSV files (on average
60 rows), and a refresh reads thousands of them; each finding must name its file, row and line.

Set-up as bench/loading.py (not measured): N centres x M months of UTF-8 CSV deliveries. The
files are read once before timing, so every way below reads them from the page cache. Timed,
best of --repeat, wall seconds (Python's cycle collector paused, as the pipeline
pauses it while reading), every way producing every row of every file as text:
  a. DuckDB, one `read_csv` per table over all its files at once (explicit VARCHAR columns, no
     sniffing, strict mode, the file name as a column) into a DuckDB table. The fastest DuckDB
     can do, but it numbers no row within its file, so it cannot name the row of a finding.
  b. DuckDB, one `read_csv` per file (what naming rows would take: a row number per file).
  c. Python's csv module, file by file (strict), to lists of text.
  d. The pipeline's own parse (sos_pipeline.ingest.reader: decode with its checks, then
     parse_csv: rows numbered as a spreadsheet shows them, field counts checked).
Then, for a. and d., the rows handed to DuckDB as one table (d. as a data frame, as the
pipeline's staging hands cells over; a. is already there), so the two compare end to end.
Asserts nothing about time.
"""
from __future__ import annotations

import argparse
import csv
import gc
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from federation import simulate_federation  # noqa: E402

TABLES = ("families", "children", "services", "group_sessions", "group_attendance")


def best(fn, repeat: int) -> tuple[float, object]:
    """Best wall time of `repeat` runs, Python's cycle collector paused in each (as the pipeline
    pauses it while it reads a chunk: ingest/batch.py)."""
    out, times = None, []
    for _ in range(repeat):
        out = None
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        finally:
            gc.enable()
    return min(times), out


def _header(paths: list[Path]) -> list[str]:
    return paths[0].read_text(encoding="utf-8").splitlines()[0].split(",")


def _read_csv(header: list[str], extra: str = "") -> str:
    """read_csv of one parameter (a file or a list of them): the columns given, as text, strictly."""
    cols = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in header) + "}"
    return (f"read_csv(?, columns={cols}, header=true, auto_detect=false, strict_mode=true, delim=',', "
            f"quote='\"', escape='\"'{extra})")


def duckdb_all_at_once(files: dict[str, list[Path]]) -> int:
    con = duckdb.connect()
    n = 0
    for table, paths in files.items():
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM {_read_csv(_header(paths), ', filename=true')}",
                    [[str(p) for p in paths]])
        n += con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    con.close()
    return n


def duckdb_file_by_file(files: dict[str, list[Path]]) -> int:
    con = duckdb.connect()
    n = 0
    for paths in files.values():
        query = f"SELECT * FROM {_read_csv(_header(paths))}"
        for p in paths:
            n += len(con.execute(query, [str(p)]).fetchall())
    con.close()
    return n


def python_csv(files: dict[str, list[Path]]) -> int:
    n = 0
    for paths in files.values():
        for p in paths:
            with open(p, encoding="utf-8", newline="") as fh:
                n += len(list(csv.reader(fh, strict=True))) - 1
    return n


def pipeline_parse(files: dict[str, list[Path]]) -> tuple[int, dict[str, list]]:
    from sos_pipeline.ingest import reader

    n, rows = 0, {}
    for table, paths in files.items():
        out = rows.setdefault(table, [])
        for p in paths:
            text, _, findings = reader.decode(p.read_bytes(), p.name, table)
            raw, problems = reader.parse_csv(text, table, p.name)
            assert not findings and not problems, (p, findings, problems)
            out.extend(cells for _, cells in raw.rows)
            n += len(raw.rows)
    return n, rows


def hand_over(rows: dict[str, list], files: dict[str, list[Path]]) -> int:
    """The parsed rows into DuckDB tables of text, one data frame each (as the pipeline hands
    its cells over)."""
    import pandas as pd

    con = duckdb.connect()
    n = 0
    for table, records in rows.items():
        header = _header(files[table])
        frame = pd.DataFrame({c: [r[i] for r in records] for i, c in enumerate(header)}, dtype=object)
        con.register("incoming", frame)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM incoming")
        con.unregister("incoming")
        n += con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    con.close()
    return n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--centres", type=int, default=10)
    ap.add_argument("--months", type=int, default=72)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="reuse/keep the generated deliveries in this folder")
    args = ap.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="sos-csv-"))
    try:
        source, _, _ = simulate_federation(root, args.centres, args.months)
        files = {t: sorted(source.glob(f"*/{t}.csv")) for t in TABLES}
        files = {t: ps for t, ps in files.items() if ps}
        count = sum(map(len, files.values()))
        size = sum(p.stat().st_size for ps in files.values() for p in ps)
        python_csv(files)                                   # into the page cache
        print(f"{args.centres} centres x {args.months} months: {count:,} CSV files, {size / 1e6:.0f} MB; "
              f"best of {args.repeat}, wall seconds")
        a, n_a = best(lambda: duckdb_all_at_once(files), args.repeat)
        print(f"a. DuckDB read_csv, one call per table (no row number per file): {a:6.2f} s  ({n_a:,} rows)")
        b, n_b = best(lambda: duckdb_file_by_file(files), args.repeat)
        print(f"b. DuckDB read_csv, one call per file:                          {b:6.2f} s  ({n_b:,} rows)")
        c, n_c = best(lambda: python_csv(files), args.repeat)
        print(f"c. Python csv module, file by file:                              {c:6.2f} s  ({n_c:,} rows)")
        d, (n_d, rows) = best(lambda: pipeline_parse(files), args.repeat)
        print(f"d. the pipeline's decode + parse_csv, file by file:              {d:6.2f} s  ({n_d:,} rows)")
        h, n_h = best(lambda: hand_over(rows, files), args.repeat)
        print(f"   d.'s rows handed to DuckDB (a data frame per table):         {h:6.2f} s  ({n_h:,} rows)")
        assert n_a == n_b == n_c == n_d == n_h, (n_a, n_b, n_c, n_d, n_h)
        print(f"SUMMARY csv {args.centres}x{args.months}: duckdb all-at-once {a:.2f} s, duckdb per file {b:.2f} s, "
              f"python csv {c:.2f} s, pipeline parse + hand-over {d + h:.2f} s")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
