"""Benchmark: the loading path alone (read, stage, validate, load) on a simulated federation.

    python bench/loading.py [--centres 10] [--months 72] [--keep DIR] [--profile N]

Set-up as bench/federation.py (not measured): N centres x M months written as UTF-8 CSV
deliveries, the reference data for them, every delivery screened into the queue. Then
ingest.batch.load_queue runs once, in this process, over the whole queue, and the seconds of
each phase are printed (read: files to raw cells, type: cells to values in DuckDB, stage,
validate, load), with the rows read. --profile N
prints the N most expensive functions (cProfile, cumulative); with SOS_PROFILE_OUT=FILE the
whole profile is also written there (for pstats). Asserts nothing about time.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from federation import simulate_federation  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--centres", type=int, default=10)
    ap.add_argument("--months", type=int, default=72)
    ap.add_argument("--keep", type=Path, help="reuse/keep the generated deliveries in this folder")
    ap.add_argument("--profile", type=int, default=0)
    args = ap.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="sos-loading-"))
    source, ref_dir, _ = simulate_federation(root, args.centres, args.months)
    data = root / "data"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(source, data / "inbox")
    shutil.copytree(ref_dir, data / "reference")
    os.environ.update(SOS_DATA_DIR=str(data), SOS_PSEUDONYM_KEY="bench-key")
    os.environ.pop("SOS_ENV", None)

    from sos_pipeline import config, reference
    from sos_pipeline.ingest.batch import load_queue
    from sos_pipeline.ingest.inbox import screen_inbox
    from sos_pipeline.validation.suites import warm_up

    paths = config.paths().ensure()
    ref = reference.load(data)
    screen_inbox(paths, ref)
    warm_up()
    prof = cProfile.Profile() if args.profile else None
    t = time.perf_counter()
    if prof:
        prof.enable()
    result = load_queue(paths, ref)
    if prof:
        prof.disable()
    wall = time.perf_counter() - t
    rows = sum(o.rows for o in result.outcomes)
    print(f"{args.centres}x{args.months}: {len(result.outcomes)} deliveries "
          f"({result.count('accepted')} accepted), {rows:,} rows, {result.chunks} chunks, "
          f"{result.rounds} rounds: {wall:.1f} s; by phase {result.seconds}")
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(args.profile)
        if os.environ.get("SOS_PROFILE_OUT"):
            prof.dump_stats(os.environ["SOS_PROFILE_OUT"])
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
