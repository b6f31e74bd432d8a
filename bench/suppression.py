"""Benchmark: small-cell suppression (sos_pipeline/extracts/suppress.py) on generated tables,
with the audit's linear programs solved by HiGHS (scipy's linprog, what the module uses) and,
for the smaller tables, by the hand-written simplex the module used before (kept here only).

    python bench/suppression.py [--sizes 2x3x6,4x4x12,8x5x12] [--old-max-cells 300] [--seed 1]

A table ROWSxCENTRESxMONTHS is one indicator shaped like an extract's: a headline and ROWS
breakdown categories (head = sum of the categories), per centre and for ALL (ALL = sum of the
centres), for each month and for the whole period (period = sum of the months), filled with
small counts and zeros. For each size it times
- protect(): the whole suppression (steps (a) and (b), audits included);
- feasible_intervals(): the attacker's view of the result (propagation, then the LPs).
Old figures are printed only up to --old-max-cells cells (the old simplex took minutes beyond).
Prints the figures; asserts that both solvers agree where both ran.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sos_pipeline.extracts import suppress  # noqa: E402
from sos_pipeline.extracts.suppress import EPS, Terms, _round, feasible_intervals, protect, total_of  # noqa: E402

ALL = "ALL"


def generated(rows: int, centres: int, months: int, seed: int):
    rng = random.Random(seed)
    draw = [0, 0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 7, 9, 12, 15, 20]
    cs = [f"c{j}" for j in range(centres)]
    ms = [f"m{m:02d}" for m in range(months)]
    values = {(f"r{i}", c, m): rng.choice(draw) for i in range(rows) for c in cs for m in ms}
    for i in range(rows):                                  # the period: sum of its months
        for c in cs:
            values[(f"r{i}", c, "P")] = sum(values[(f"r{i}", c, m)] for m in ms)
    for i in range(rows):                                  # all centres
        for m in [*ms, "P"]:
            values[(f"r{i}", ALL, m)] = sum(values[(f"r{i}", c, m)] for c in cs)
    for c in [*cs, ALL]:                                   # the headline
        for m in [*ms, "P"]:
            values[("head", c, m)] = sum(values[(f"r{i}", c, m)] for i in range(rows))
    names = ["head", *(f"r{i}" for i in range(rows))]
    eqs = [total_of((r, ALL, m), [(r, c, m) for c in cs]) for r in names for m in [*ms, "P"]]
    eqs += [total_of(("head", c, m), [(f"r{i}", c, m) for i in range(rows)]) for c in [*cs, ALL] for m in [*ms, "P"]]
    eqs += [total_of((r, c, "P"), [(r, c, m) for m in ms]) for r in names for c in [*cs, ALL]]
    return values, eqs


# ------------------------------------------------------------------ the old audit (before HiGHS)

def old_lp_bounds(eqs: list[Terms], box: dict, targets: set, integer: set, truth=None) -> dict:
    """suppress._lp_bounds as it was: a dense-tableau simplex, Bland's rule."""
    out = {}
    for cols, rows_of in suppress.groups(eqs, box, targets):   # the same groups as the new audit
        col = {k: j for j, k in enumerate(cols)}
        ups = [k for k in cols if math.isfinite(box[k][1])]
        n, u, e = len(cols), len(ups), len(rows_of)
        T = []
        for r, i in enumerate(sorted(rows_of)):
            row = [0.0] * (n + u + e + 1)
            for k, a in eqs[i]:
                if k in col:
                    row[col[k]] += a
                row[-1] -= a * box[k][0]
            sign = -1.0 if row[-1] < 0 else 1.0
            T.append([sign * x for x in row])
            T[-1][n + u + r] = 1.0
        for s, k in enumerate(ups):
            T.append([0.0] * (n + u + e + 1))
            T[-1][col[k]] = T[-1][n + s] = 1.0
            T[-1][-1] = box[k][1] - box[k][0]
        basis = [n + u + r for r in range(e)] + [n + s for s in range(u)]
        phase1 = _simplex(T, basis, [0.0] * (n + u) + [1.0] * e, n + u + e)
        if phase1 is None or phase1 > 1e-7:
            continue
        for r in reversed(range(len(T))):
            if basis[r] >= n + u:
                j = next((j for j in range(n + u) if abs(T[r][j]) > EPS), None)
                if j is None:
                    del T[r], basis[r]
                else:
                    _pivot(T, basis, r, j)
        T = [row[:n + u] + row[-1:] for row in T]
        for k in (k for k in cols if k in targets):
            j, (lo, hi) = col[k], box[k]
            cost = [0.0] * (n + u)
            cost[j] = -1.0
            high = _simplex([r[:] for r in T], basis[:], cost, n + u)
            hi = hi if high is None else min(hi, lo - high)
            if truth is None or hi < truth[k] + 1 - EPS:
                cost[j] = 1.0
                lo += _simplex([r[:] for r in T], basis[:], cost, n + u) or 0.0
            out[k] = _round(k, lo, hi, integer)
    return out


def _simplex(T, basis, cost, allowed):
    d = list(cost) + [0.0]
    for c, row in zip([cost[b] for b in basis], T):
        if c:
            d = [x - c * y for x, y in zip(d, row)]
    for _ in range(50 * (len(T) + allowed)):
        enter = next((j for j in range(allowed) if d[j] < -EPS), None)
        if enter is None:
            return -d[-1]
        ratios = [(row[-1] / row[enter], basis[r], r) for r, row in enumerate(T) if row[enter] > EPS]
        if not ratios:
            return None
        r = min(ratios)[2]
        _pivot(T, basis, r, enter)
        f = d[enter]
        d = [x - f * y for x, y in zip(d, T[r])]
    return None


def _pivot(T, basis, r, j):
    p = T[r][j]
    T[r] = [x / p for x in T[r]]
    for i, row in enumerate(T):
        if i != r and row[j]:
            f = row[j]
            T[i] = [a - f * b for a, b in zip(row, T[r])]
    basis[r] = j


# ------------------------------------------------------------------ timing

def timed(lp, values, eqs):
    new_lp = suppress._lp_bounds
    suppress._lp_bounds = lp
    try:
        t0 = time.perf_counter()
        status = protect(values, set(values), eqs)
        t1 = time.perf_counter()
        box = feasible_intervals(values, status, eqs, 5, set(values), sensitive=set(values))
        t2 = time.perf_counter()
    finally:
        suppress._lp_bounds = new_lp
    return status, box, t1 - t0, t2 - t1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2x3x6,4x3x12,4x4x12,8x5x12")
    ap.add_argument("--old-max-cells", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    t0 = time.perf_counter()
    import scipy.optimize  # noqa: F401  (imported on the module's first audit: timed apart)
    print(f"importing scipy.optimize: {time.perf_counter() - t0:.2f}s")
    print(f"{'table':>10} {'cells':>6} {'sums':>5} {'hidden':>6} | {'protect new':>11} {'audit new':>9} | "
          f"{'protect old':>11} {'audit old':>9}")
    for size in args.sizes.split(","):
        r, c, m = map(int, size.split("x"))
        values, eqs = generated(r, c, m, args.seed)
        status, box, p_new, a_new = timed(suppress._lp_bounds, values, eqs)
        old = "—".rjust(11) + " " + "—".rjust(9)
        if len(values) <= args.old_max_cells:
            status_old, box_old, p_old, a_old = timed(old_lp_bounds, values, eqs)
            assert status_old == status, f"{size}: the two solvers hide different cells"
            assert box_old == box, f"{size}: the two solvers see different intervals"
            old = f"{p_old:10.2f}s {a_old:8.2f}s"
        print(f"{size:>10} {len(values):>6} {len(eqs):>5} {len(status):>6} | {p_new:10.2f}s {a_new:8.2f}s | {old}",
              flush=True)


if __name__ == "__main__":
    main()
