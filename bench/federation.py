"""Benchmark: the whole pipeline at federation scale, beside the fair floor.

    python bench/federation.py [--centres 80] [--months 72] [--repeat 3] [--keep DIR]

Set-up (not measured):
  1. Simulates N centres x M months with the sample-data generator (the BAU and VAL knobs
     cycled under new centre codes, every project covering every centre; bench/indicators.py's
     `federation`), and writes every centre-month as a UTF-8 CSV delivery into source/.
  2. Writes centres.yaml and projects.yaml for those centres into data/reference/.

Measured on the same files, each in a fresh process, side by side (floor, then full refresh,
--repeat times; the best of each is reported), wall and CPU (user + system of the process and
its children, from wait4):
  a. fair floor (bench/floor.py): plain DuckDB in one process reading every table of every
     delivery with its columns given, refs pseudonymised in SQL, and the project's own
     reporting and indicator SQL (sos_pipeline/indicators/build.py) into a warehouse file. Its
     reporting.indicator_values and target_progress are compared with the pipeline's published
     warehouse: same rows, same values.
  b. full refresh: the deliveries copied into a fresh data/inbox, then `sos-pipeline refresh` as
     the coordinator runs it (a fresh process and DAGSTER_HOME), extracts included: wall, CPU
     and peak memory: the most resident memory the refresh's process and its children (the
     funder extracts' worker processes) held together, sampled every 0.1 s from /proc, and
     never less than the largest single process's maximum resident set (from wait4).
  c. no-op refresh: `sos-pipeline refresh` again with nothing new in the inbox.
  d. correction: one corrected delivery dropped into the inbox, `sos-pipeline refresh` again.
  e. code location: importing sos_pipeline.definitions in a fresh process with this data folder
     (best of 3), as `dagster dev` does.
  f. naive figure: bench/plain.sql (4 tables, 3 indicators, ALL scope only), best of 3 in this
     process; NOT a floor, printed for comparison with the figures measured before.
Ends with one line per size:
  SUMMARY <c>x<m>: full <F> s, fair floor <L> s, ratio <R>x, no-op <N> s, correction <C> s, peak <M> GB
Asserts nothing about time.
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


def simulate_federation(root: Path, centres: int, months: int) -> tuple[Path, Path, list[str]]:
    """root/source (a UTF-8 CSV delivery folder per centre-month, N centres x M months) and
    root/reference (centres.yaml, projects.yaml) of a simulated federation, written unless
    root/source is already there (a kept folder). Returns both folders and the deliveries' names."""
    source, ref_dir = root / "source", root / "reference"
    if source.is_dir():
        return source, ref_dir, sorted(p.name for p in source.iterdir() if p.is_dir())
    source.mkdir(parents=True)
    knobs, ref = federation(centres, months)
    names = []
    for d in generator.simulate(seed=2013, knobs=knobs, ref=ref, calibrate=False):
        names.append(f"{d.centre}_{d.year}-{d.month:02d}")
        writers.write_csv_utf8(source, names[-1], d.tables)
    write_reference(ref_dir, ref)
    return source, ref_dir, names


def run_plain(source: Path) -> tuple[float, int]:
    """The naive figure: bench/plain.sql, best of 3 in this process."""
    from sos_pipeline.warehouse.db import statements

    script = (ROOT / "bench" / "plain.sql").read_text(encoding="utf-8").replace("{source}", str(source))
    best, rows = float("inf"), 0
    for _ in range(3):
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        t = time.perf_counter()
        rows = 0
        for stmt in statements(script):
            res = con.execute(stmt)
            if res.description and stmt.lstrip().upper().startswith("SELECT"):
                rows += len(res.fetchall())
        best = min(best, time.perf_counter() - t)
        con.close()
    return best, rows


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, now (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            pass
    return total


def run_proc(cmd: list[str], env: dict | None = None) -> dict:
    """Wall and CPU seconds (user + system of the process and the children it waited for), peak
    memory (GB; see the module docstring), stdout, stderr and exit code of one fresh process."""
    import threading

    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
    peak, done = [0], threading.Event()

    def sample():
        while not done.wait(0.1):
            peak[0] = max(peak[0], tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    done.set()
    sampler.join()
    out.seek(0), err.seek(0)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "peak": max(usage.ru_maxrss * 1024, peak[0]) / 1024 ** 3,
            "out": out.read().decode("utf-8", "replace"), "err": err.read().decode("utf-8", "replace"),
            "code": os.waitstatus_to_exitcode(status)}


def compare(floor_db: Path, pipeline_db: Path) -> list[str]:
    """Differences between the floor's and the pipeline's reporting tables (empty: identical)."""
    problems = []
    con = duckdb.connect()
    con.execute(f"ATTACH '{floor_db}' AS f (READ_ONLY)")
    con.execute(f"ATTACH '{pipeline_db}' AS p (READ_ONLY)")
    for table in ("indicator_values", "target_progress", "periods", "completeness"):
        cols = [r[0] for r in con.execute(f"DESCRIBE p.reporting.{table}").fetchall()]
        if table == "completeness":     # received and accepted times differ by design
            cols = [c for c in cols if c not in ("first_received_at", "accepted_at")]
        sel = ", ".join(cols)
        nf = con.execute(f"SELECT count(*) FROM f.reporting.{table}").fetchone()[0]
        np_ = con.execute(f"SELECT count(*) FROM p.reporting.{table}").fetchone()[0]
        only_f = con.execute(f"SELECT count(*) FROM (SELECT {sel} FROM f.reporting.{table} EXCEPT ALL "
                             f"SELECT {sel} FROM p.reporting.{table})").fetchone()[0]
        only_p = con.execute(f"SELECT count(*) FROM (SELECT {sel} FROM p.reporting.{table} EXCEPT ALL "
                             f"SELECT {sel} FROM f.reporting.{table})").fetchone()[0]
        line = (f"reporting.{table}: floor {nf:,} rows, pipeline {np_:,} rows, {only_f} only in the floor, "
                f"{only_p} only in the pipeline")
        if nf != np_ or only_f or only_p:
            problems.append(line)
        else:
            print(f"   identical: {line}")
    con.close()
    return problems


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


def fresh_data(root: Path, source: Path, names: list[str], ref_dir: Path) -> Path:
    """A new data folder: the reference data, and every delivery in its inbox."""
    data = root / "data"
    shutil.rmtree(data, ignore_errors=True)
    (data / "inbox").mkdir(parents=True)
    shutil.copytree(ref_dir, data / "reference")
    for name in names:
        shutil.copytree(source / name, data / "inbox" / name)
    return data


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--centres", type=int, default=80)
    ap.add_argument("--months", type=int, default=72)
    ap.add_argument("--repeat", type=int, default=3, help="full refreshes and floors timed (best of)")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = ap.parse_args(argv)
    size = f"{args.centres}x{args.months}"

    root = args.keep or Path(tempfile.mkdtemp(prefix="sos-federation-"))
    if root.exists():
        shutil.rmtree(root)
    t = time.perf_counter()
    source, ref_dir, names = simulate_federation(root, args.centres, args.months)
    _, ref = federation(args.centres, args.months)
    files = sum(1 for _ in source.rglob("*.csv"))
    mb = sum(f.stat().st_size for f in source.rglob("*.csv")) / 1e6
    print(f"set-up: {args.centres} centres x {args.months} months = {len(names):,} deliveries, "
          f"{files:,} CSV files, {mb:.0f} MB, written in {time.perf_counter() - t:.0f} s (not measured)")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    key = os.environ.get("SOS_PSEUDONYM_KEY", "bench-key")
    floor_db = root / "floor.duckdb"
    floor_env = dict(os.environ, SOS_DATA_DIR=str(root / "floor-data"))
    (root / "floor-data").mkdir()
    shutil.copytree(ref_dir, root / "floor-data" / "reference")
    floors, fulls = [], []
    for rep in range(args.repeat):
        f = run_proc([sys.executable, str(ROOT / "bench" / "floor.py"), str(source), str(root / "floor-data"),
                      str(floor_db)], floor_env)
        if f["code"]:
            print(f["out"][-3000:], f["err"][-3000:], sep="\n")
            print(f"fair floor FAILED (exit {f['code']})")
            return 1
        floors.append(f)
        data = fresh_data(root, source, names, ref_dir)
        home = root / "dagster_home"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir()
        env = dict(os.environ, SOS_DATA_DIR=str(data), DAGSTER_HOME=str(home), SOS_PSEUDONYM_KEY=key)
        env.pop("SOS_ENV", None)
        r = run_proc([sys.executable, "-m", "sos_pipeline", "refresh"], env)
        if r["code"]:
            print(r["out"][-3000:], r["err"][-3000:], sep="\n")
            print(f"full refresh FAILED (exit {r['code']})")
            return 1
        fulls.append(r)
        accepted = re.search(r"accepted\s+(\d+)", r["out"])
        print(f"run {rep + 1}: fair floor {f['wall']:.2f} s wall, {f['cpu']:.2f} s CPU "
              f"({f['out'].strip()}); full refresh {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU, "
              f"{accepted.group(1) if accepted else '?'} accepted, extracts {extracts_seconds(r['out'])} s, "
              f"peak {r['peak']:.2f} GB; load {os.getloadavg()[0]:.2f}")
    floor = min(floors, key=lambda x: x["wall"])
    full = min(fulls, key=lambda x: x["wall"])
    peak = max(x["peak"] for x in fulls)
    print(f"\na. fair floor (bench/floor.py, fresh process, best of {args.repeat}): {floor['wall']:.2f} s wall, "
          f"{floor['cpu']:.2f} s CPU")
    print(f"b. full refresh incl. extracts (best of {args.repeat}): {full['wall']:.1f} s wall, "
          f"{full['cpu']:.1f} s CPU, {after_start(full['out'])} s after the run starts; peak memory {peak:.2f} GB")
    print(f"   ratio to the fair floor: {full['wall'] / floor['wall']:.1f}x wall, "
          f"{full['cpu'] / floor['cpu']:.1f}x CPU (goal {GOALS['ratio']}x)")
    problems = compare(floor_db, data / "warehouse.duckdb")
    for p in problems:
        print(f"   DIFFERENT: {p}")
    print("   the floor reproduces the pipeline's published reporting tables exactly" if not problems else
          "   the floor does NOT reproduce the pipeline's published reporting tables")

    noop = run_proc([sys.executable, "-m", "sos_pipeline", "refresh"], env)
    if noop["code"]:
        print(noop["out"][-3000:], noop["err"][-3000:], sep="\n")
        print(f"no-op refresh FAILED (exit {noop['code']})")
        return 1
    print(f"c. no-op refresh (nothing new): {noop['wall']:.1f} s wall, {noop['cpu']:.1f} s CPU, "
          f"{after_start(noop['out'])} s after the run starts; peak memory {noop['peak']:.2f} GB")

    # d. one corrected delivery: the last month of the first centre, one contact less
    last = sorted(n for n in names if n.startswith(names[0].split("_")[0]))[-1]
    shutil.copytree(source / last, data / "inbox" / last)
    services = data / "inbox" / last / "services.csv"
    with open(services, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    with open(services, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows[:-1] if len(rows) > 2 else rows)
    corr = run_proc([sys.executable, "-m", "sos_pipeline", "refresh"], env)
    if corr["code"]:
        print(corr["out"][-3000:], corr["err"][-3000:], sep="\n")
        print(f"correction refresh FAILED (exit {corr['code']})")
        return 1
    print(f"d. correction (one corrected delivery, {last}): {corr['wall']:.1f} s wall, {corr['cpu']:.1f} s CPU, "
          f"{after_start(corr['out'])} s after the run starts (goal {GOALS['incremental_s']} s), "
          f"extracts {extracts_seconds(corr['out'])} s; peak memory {corr['peak']:.2f} GB")

    cl = code_location(env)
    print(f"e. code location load (import sos_pipeline.definitions, {len(ref.centres)} centres): {cl:.2f} s "
          f"(goal {GOALS['code_location_s']} s)")
    plain_s, plain_rows = run_plain(source)
    print(f"f. naive figure, NOT a floor (bench/plain.sql: 4 tables, 3 indicators, ALL scope; best of 3 "
          f"in-process): {plain_s:.2f} s ({plain_rows:,} result rows)")
    mb = (data / "warehouse.duckdb").stat().st_size / 1e6
    print(f"\npublished warehouse: {mb:.0f} MB; folder: {root}"
          + ("" if args.keep else " (temporary: pass --keep DIR to keep it)"))
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    print(f"SUMMARY {size}: full {full['wall']:.1f} s, fair floor {floor['wall']:.2f} s, "
          f"ratio {full['wall'] / floor['wall']:.1f}x, no-op {noop['wall']:.1f} s, "
          f"correction {corr['wall']:.1f} s, peak {peak:.2f} GB")
    return 0 if not problems else 2


if __name__ == "__main__":
    raise SystemExit(main())
