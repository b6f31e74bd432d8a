"""Benchmark: the whole pipeline at federation scale, beside a plain DuckDB script.

    python bench/federation.py [--centres 80] [--months 72] [--keep DIR]

Set-up (not measured):
  1. Simulates N centres x M months with the sample-data generator (the BAU and VAL knobs
     cycled under new centre codes, every project covering every centre; bench/indicators.py's
     `federation`), and writes every centre-month as a UTF-8 CSV delivery into source/.
  2. Writes centres.yaml and projects.yaml for those centres into data/reference/.

Measured, in one run on the same files:
  a. plain DuckDB: one SQL script (bench/plain.sql) that reads every CSV of source/ and computes
     the headline indicators (families and children served per centre and month, per centre and
     year, and for the whole federation; contacts and hours by service). The floor: no
     validation, no privacy gate, no pseudonyms, no history, no extracts.
  b. full refresh: the deliveries copied into data/inbox, then `sos-pipeline refresh` as the
     coordinator runs it (a fresh process and DAGSTER_HOME): wall time and peak memory (the
     process's maximum resident set, from wait4).
  c. incremental refresh: one corrected delivery dropped into the inbox, `sos-pipeline refresh`
     again: the process's wall time and the time after the run starts (what the CLI reports:
     everything after the code location is loaded).
  d. code location: importing sos_pipeline.definitions in a fresh process with this data folder
     (best of 3), as `dagster dev` does.
Prints the figures, the ratios and the goals; asserts nothing.
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from indicators import federation  # noqa: E402

from sos_pipeline import config  # noqa: E402
from sos_pipeline.sample import generator, writers  # noqa: E402

GOALS = {"ratio": 1.5, "incremental_s": 5.0, "peak_gb": 2.0, "code_location_s": 2.0}


def write_reference(ref_dir: Path, ref) -> None:
    ref_dir.mkdir(parents=True, exist_ok=True)
    lines = ["centres:"]
    for c in ref.centres.values():
        lines += [f"  - code: {c.code}", f"    name_lv: {c.name_lv}", f"    name_en: {c.name_en}",
                  f"    active_from: {c.active_from.isoformat()}"]
    (ref_dir / "centres.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shipped = (config.SHIPPED_REFERENCE / "projects.yaml").read_text(encoding="utf-8")
    every = ", ".join(ref.centres)
    text = re.sub(r"centres: \[[^\]]*\]", f"centres: [{every}]", shipped)
    codes = list(ref.centres)       # per-centre targets and values: the first two centres
    text = re.sub(r"centre: BAU\b", f"centre: {codes[0]}", text)
    text = re.sub(r"centre: VAL\b", f"centre: {codes[min(1, len(codes) - 1)]}", text)
    (ref_dir / "projects.yaml").write_text(text, encoding="utf-8")


def run_plain(source: Path) -> tuple[float, int]:
    from sos_pipeline.warehouse.db import statements

    script = (ROOT / "bench" / "plain.sql").read_text(encoding="utf-8").replace("{source}", str(source))
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    t = time.perf_counter()
    rows = 0
    for stmt in statements(script):
        res = con.execute(stmt)
        if res.description and stmt.lstrip().upper().startswith("SELECT"):
            rows += len(res.fetchall())
    seconds = time.perf_counter() - t
    con.close()
    return seconds, rows


def run_cli(args: list[str], env: dict) -> tuple[float, float, str, str, int]:
    """Wall seconds, peak RSS (GB), stdout, stderr, exit code of one `sos-pipeline` process."""
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "sos_pipeline", *args], env=env, stdout=out, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0), err.seek(0)
    return (wall, usage.ru_maxrss / 1024 / 1024, out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"), proc.returncode)


def after_start(stdout: str) -> float | None:
    m = re.search(r"Refresh finished in ([\d.]+) s", stdout)
    return float(m.group(1)) if m else None


def extracts_seconds(stdout: str) -> float | None:
    m = re.search(r"Funder extracts in .*?([\d.]+) s\.", stdout)
    return float(m.group(1)) if m else None


def code_location(env: dict) -> float:
    code = "import time; t = time.perf_counter(); import sos_pipeline.definitions; print(time.perf_counter() - t)"
    return min(float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                    check=True).stdout.split()[-1]) for _ in range(3))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--centres", type=int, default=80)
    ap.add_argument("--months", type=int, default=72)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = ap.parse_args(argv)

    root = args.keep or Path(tempfile.mkdtemp(prefix="sos-federation-"))
    if root.exists():
        shutil.rmtree(root)
    source, data, home = root / "source", root / "data", root / "dagster_home"
    for d in (source, data / "inbox", home):
        d.mkdir(parents=True)
    knobs, ref = federation(args.centres, args.months)
    t = time.perf_counter()
    deliveries = generator.simulate(seed=2013, knobs=knobs, ref=ref, calibrate=False)
    names = []
    for d in deliveries:
        name = f"{d.centre}_{d.year}-{d.month:02d}"
        writers.write_csv_utf8(source, name, d.tables)
        names.append(name)
    write_reference(data / "reference", ref)
    files = sum(1 for _ in source.rglob("*.csv"))
    mb = sum(f.stat().st_size for f in source.rglob("*.csv")) / 1e6
    print(f"set-up: {args.centres} centres x {args.months} months = {len(names):,} deliveries, "
          f"{files:,} CSV files, {mb:.0f} MB, written in {time.perf_counter() - t:.0f} s (not measured)")
    del deliveries

    plain_s, plain_rows = run_plain(source)
    print(f"\na. plain DuckDB script (bench/plain.sql) over the same CSV files: {plain_s:.2f} s "
          f"({plain_rows:,} result rows)")

    for name in names:
        shutil.copytree(source / name, data / "inbox" / name)
    env = dict(os.environ, SOS_DATA_DIR=str(data), DAGSTER_HOME=str(home),
               SOS_PSEUDONYM_KEY=os.environ.get("SOS_PSEUDONYM_KEY", "bench-key"))
    env.pop("SOS_ENV", None)
    wall, peak, out, err, code = run_cli(["refresh"], env)
    if code:
        print(out[-3000:], err[-3000:], sep="\n")
        print(f"full refresh FAILED (exit {code})")
        return 1
    accepted = re.search(r"accepted\s+(\d+)", out)
    print(f"b. full refresh (`sos-pipeline refresh`, {accepted.group(1) if accepted else '?'} deliveries "
          f"accepted): {wall:.1f} s wall, {after_start(out)} s after the run starts, "
          f"extracts {extracts_seconds(out)} s; peak memory {peak:.2f} GB")
    print(f"   ratio to plain DuckDB: {wall / plain_s:.1f}x (goal {GOALS['ratio']}x)")

    # c. one corrected delivery: the last month of the first centre, one contact less
    last = sorted(n for n in names if n.startswith(names[0].split("_")[0]))[-1]
    shutil.copytree(source / last, data / "inbox" / last)
    services = data / "inbox" / last / "services.csv"
    with open(services, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    with open(services, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows[:-1] if len(rows) > 2 else rows)
    wall_i, peak_i, out_i, err_i, code_i = run_cli(["refresh"], env)
    if code_i:
        print(out_i[-3000:], err_i[-3000:], sep="\n")
        print(f"incremental refresh FAILED (exit {code_i})")
        return 1
    print(f"c. incremental refresh (one corrected delivery, {last}): {wall_i:.1f} s wall, "
          f"{after_start(out_i)} s after the run starts (goal {GOALS['incremental_s']} s), "
          f"extracts {extracts_seconds(out_i)} s; peak memory {peak_i:.2f} GB")

    cl = code_location(env)
    print(f"d. code location load (import sos_pipeline.definitions, {len(ref.centres)} centres): {cl:.2f} s "
          f"(goal {GOALS['code_location_s']} s)")
    size = (data / "warehouse.duckdb").stat().st_size / 1e6
    print(f"\npublished warehouse: {size:.0f} MB; folder: {root}"
          + ("" if args.keep else " (temporary: pass --keep DIR to keep it)"))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
