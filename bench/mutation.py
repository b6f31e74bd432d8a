"""The seeded mutation test (tests/test_mutation.py) at any size and seed, with a table of outcomes.

    python bench/mutation.py [--seed S] [--n 96] [--keep DIR]

Builds n damaged or personal-data-laden deliveries from seed S (random when not given; it is
printed), runs two real `sos-pipeline refresh` subprocesses over them, and prints one line per
delivery (form, mutation, outcome, whether a strict reading parses it, what was done) and then
every problem found, by check, as the test would report it. n is at most 96 (2016-2019, two
centres) or 144 (from 2014). --keep keeps the data folder, DAGSTER_HOME and the refresh logs
(otherwise they are removed). Exit 1 when a problem was found.
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import test_mutation as tm  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--n", type=int, default=96)
    ap.add_argument("--keep", type=Path, default=None, help="keep everything in this folder")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**9)
    print(f"seed {seed}, {args.n} deliveries", flush=True)
    if args.keep:
        root = args.keep
        if root.exists() and any(root.iterdir()):
            sys.exit(f"{root} is not empty")
        root.mkdir(parents=True, exist_ok=True)
    else:
        root = tm._root()
    t0 = time.monotonic()
    try:
        camp = tm.run_campaign(seed, args.n, root)
        print(tm.summary(camp))
        found = tm.problems(camp)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    total = sum(len(v) for v in found.values())
    print(f"\n{total} problem(s) in {time.monotonic() - t0:.1f} s (seed {seed})")
    for check, items in found.items():
        print(f"== {check}: {len(items)}")
        for line in items:
            print(f"   {line[:1500]}")
    if args.keep:
        print(f"kept in {root}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
