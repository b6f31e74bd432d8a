"""Small-cell suppression for funder extracts.

The contract: warehouse tables hold exact counts under pseudonyms; a funder extract shows a
count of people or families from 1 to threshold-1 as `<threshold` (default 5, set per
project), shows 0 as 0, and hides enough other cells that no hidden count can be worked out
from a total.

Hiding a small cell (*primary* suppression) is not enough on its own: if a row shows
ALL = 6 and VAL = 5, a reader computes BAU = 1 whatever the marker says. So other cells are
hidden too (*secondary* suppression, shown as `x`), in two steps repeated until stable:

(a) Every sum ("equation") with exactly one hidden cell gets a second one hidden.
(b) An audit plays the attacker (`feasible_intervals`): from the shown cells, the sums and
    what the markers say, it works out the range each hidden cell must lie in. A `<5` cell
    whose range has shrunk to one value is still disclosed, so one more cell is hidden in each
    sum it belongs to (or, when those are all hidden already, in the nearest sum around them
    that still shows a nonzero cell). Example: ALL = 6, BAU = 1, VAL = 5. Step (a) hides VAL;
    but `x` on a count means "0 or at least 5", so VAL >= 5 and BAU = 6 - VAL <= 1: BAU is 1
    again. The audit catches this and hides ALL as well.

The attacker in the audit is deliberately stronger than a real reader: it knows every sum,
combines them in every possible way (linear programs, solved by HiGHS through
scipy.optimize.linprog, find each cell's lowest and highest possible value), rounds those to
whole numbers for whole-number cells, and knows which side of "0 or >= threshold" each `x`
count is on (the side the truth is on). What keeps this attacker
guessing keeps a real reader guessing; the price is an occasional extra `x`.

Limits. Whole-number reasoning beyond rounding each cell's range (parity and the like) is not
modelled. And the markers alone may give a cell away, which no suppression can prevent: with
threshold 3, a row `<3` = `<3` + `<3` can only be 2 = 1 + 1. `protect` finds those cells first
(`_pinned_anyway`: pinned even with every nonzero cell hidden) and hides nothing for them, as
hiding more could not help: it would only cost figures, headlines included."""
from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
EPS = 1e-9        # float slack when comparing bounds
MAX_ROUNDS = 50   # bound propagation stops after about this many passes over the sums
LP_TOL = 1e-6     # the LP solver's answers are exact to about its feasibility tolerance (1e-7)


@dataclass(frozen=True)
class Equation:
    """sum(coeff * value) == 0 over its terms, e.g. a total and its parts:
    ((total, -1.0), (part_a, 1.0), (part_b, 1.0)); a monthly average over 3 months:
    ((avg, -3.0), (m1, 1.0), (m2, 1.0), (m3, 1.0))."""
    terms: tuple[tuple[Hashable, float], ...]


def total_of(total, parts, weight: float = 1.0) -> Equation:
    """weight * total == sum(parts)."""
    return Equation(((total, -float(weight)), *((p, 1.0) for p in parts)))


def holds(eq: Equation, values: Mapping, tol: float = 1e-6) -> bool:
    """True when the equation is satisfied by values (a key missing from values counts as 0)."""
    get = values.get
    return abs(math.fsum([c * get(k, 0.0) for k, c in eq.terms])) <= tol


Terms = tuple[tuple[Hashable, float], ...]


class _Reprs(dict):
    """repr(cell), each computed once (cells are sorted by it, often: a table has ~10^5)."""

    def __missing__(self, k):
        r = self[k] = repr(k)
        return r


def _normal(equations: Sequence[Equation], reprs: _Reprs | None = None) -> list[Terms]:
    """The sums in a canonical form (a cell listed twice merged, zero coefficients and repeated
    sums dropped, sorted by repr), so that results never depend on the caller's order."""
    reprs = _Reprs() if reprs is None else reprs
    out = set()
    for eq in equations:
        acc: dict = {}
        for k, c in eq.terms:
            acc[k] = acc.get(k, 0.0) + float(c)
        if terms := tuple(sorted(((k, c) for k, c in acc.items() if c), key=lambda kc: reprs[kc[0]])):
            out.add(terms)
    return sorted(out, key=lambda ts: [(reprs[k], c) for k, c in ts])


def feasible_intervals(values: Mapping[K, float], hidden: Mapping[K, str], equations: Sequence[Equation],
                       threshold: int, integer: set[K] | None = None, *,
                       sensitive: set[K] | None = None) -> dict[K, tuple[float, float]]:
    """The attacker's view: for each hidden cell, the interval [lo, hi] it must lie in.

    The attacker sees every cell not in `hidden` (a key missing from `values` is 0, shown),
    knows the equations, and reads the markers:
    - "primary" (`<t`): 1 <= value <= t-1 for a whole number, 0 <= value <= t otherwise
      (an average, say: the closed form of 0 < value < t);
    - "secondary" (`x`): value >= 0. With `sensitive` given, a secondary count of people is
      "0 or >= t" and the attacker is granted the side the truth is on: [t, inf), or exactly
      0 for a hidden zero (the strong attacker `protect` audits against).
    First each equation bounds each of its hidden cells by the bounds of the others, repeated
    until nothing changes (at most MAX_ROUNDS passes); cells in `integer` are whole numbers, so
    lower bounds round up and upper bounds round down. Then a linear program finds each cell's
    exact lowest and highest value under all the equations at once (what one sum alone cannot
    show: a column total minus a row total, say)."""
    eqs = _normal(equations)
    box, active = _propagate(values, hidden, eqs, threshold, integer or set(), sensitive)
    box.update(_lp_bounds(active, box, set(hidden), integer or set()))
    return {k: box[k] for k in hidden}


def _propagate(values, hidden, eqs, threshold, integer, sensitive):
    """Starting boxes from the markers, tightened one equation at a time. Returns the boxes of
    every cell in an equation with a hidden cell, and those equations."""
    box: dict = {}
    for k, mark in hidden.items():
        v = float(values.get(k, 0.0))
        if mark == "primary":
            box[k] = (1.0, threshold - 1.0) if k in integer else (0.0, float(threshold))
        elif sensitive is not None and k in sensitive:
            box[k] = (float(threshold), math.inf) if v >= threshold else (v, v)
        else:
            box[k] = (min(0.0, v), math.inf)
    active = [ts for ts in eqs if any(k in hidden for k, _ in ts)]
    by_cell: dict = {}
    for i, ts in enumerate(active):
        for k, _ in ts:
            box.setdefault(k, (float(values.get(k, 0.0)),) * 2)
            by_cell.setdefault(k, []).append(i)
    queue, queued = deque(range(len(active))), set(range(len(active)))
    budget = MAX_ROUNDS * len(active)
    while queue and budget > 0:
        budget -= 1
        i = queue.popleft()
        queued.discard(i)
        for k in _tighten(active[i], box, integer):
            for j in by_cell[k]:
                if j not in queued:
                    queued.add(j)
                    queue.append(j)
    return box, active


def _tighten(terms: Terms, box: dict, integer: set) -> list:
    """One equation, sum(a * x) == 0: each a * x is minus the sum of the others, so its bounds
    follow from theirs. Updates `box`; returns the cells whose bounds moved."""
    los = [a * box[k][0] if a > 0 else a * box[k][1] for k, a in terms]   # bounds of each a * x
    his = [a * box[k][1] if a > 0 else a * box[k][0] for k, a in terms]
    lo_inf, hi_inf = sum(map(math.isinf, los)), sum(map(math.isinf, his))
    lo_sum = math.fsum(x for x in los if not math.isinf(x))
    hi_sum = math.fsum(x for x in his if not math.isinf(x))
    moved = []
    for (k, a), l, h in zip(terms, los, his):
        old_lo, old_hi = box[k]
        if old_lo == old_hi:
            continue
        rest_lo = -math.inf if lo_inf - math.isinf(l) else lo_sum - (0.0 if math.isinf(l) else l)
        rest_hi = math.inf if hi_inf - math.isinf(h) else hi_sum - (0.0 if math.isinf(h) else h)
        lo, hi = (-rest_hi / a, -rest_lo / a) if a > 0 else (-rest_lo / a, -rest_hi / a)
        lo, hi = _round(k, max(lo, old_lo), min(hi, old_hi), integer)
        if lo <= hi + EPS and (lo > old_lo + EPS or hi < old_hi - EPS):   # else noise: learn nothing
            box[k] = (lo, max(lo, hi))
            moved.append(k)
    return moved


def _round(k, lo, hi, integer, tol=EPS):
    if k in integer:
        lo = math.ceil(lo - tol) if math.isfinite(lo) else lo
        hi = math.floor(hi + tol) if math.isfinite(hi) else hi
    return lo, hi


def groups(eqs: list[Terms], box: dict, targets: set):
    """The connected groups of unknown cells (not fixed by their box) that hold a target, with the
    equations linking them: (cells, sorted by repr; equation indices, sorted). One LP per group."""
    unknown = {k for ts in eqs for k, _ in ts if box[k][0] < box[k][1]}
    by_cell: dict = {}
    for i, ts in enumerate(eqs):
        for k, _ in ts:
            by_cell.setdefault(k, []).append(i)
    seen: set = set()
    for start in sorted(targets & unknown, key=repr):
        if start in seen:
            continue
        group, rows_of, stack = {start}, set(), [start]
        while stack:
            for i in by_cell[stack.pop()]:
                if i not in rows_of:
                    rows_of.add(i)
                    for k, _ in eqs[i]:
                        if k in unknown and k not in group:
                            group.add(k)
                            stack.append(k)
        seen |= group
        yield sorted(group, key=repr), sorted(rows_of)


def _lp_bounds(eqs: list[Terms], box: dict, targets: set, integer: set, truth=None) -> dict:
    """The lowest and highest value of each target cell over all x with x in box and every
    equation holding: linear programs solved by HiGHS (scipy.optimize.linprog), one connected
    group of unknown cells at a time. A bound the solver cannot establish (a numerical failure)
    keeps the propagated box. With `truth` (protect's audit), the lowest value is looked for only
    while the highest does not already show that the cell can move by 1."""
    import numpy as np                       # here, not at import: the code location loads fast
    from scipy.optimize import linprog
    from scipy.sparse import csr_array

    out = {}
    for cols, rows_of in groups(eqs, box, targets):
        col = {k: j for j, k in enumerate(cols)}
        data, row_idx, col_idx, rhs = [], [], [], []
        for r, i in enumerate(rows_of):
            b = 0.0
            for k, a in eqs[i]:
                if k in col:
                    data.append(a)
                    row_idx.append(r)
                    col_idx.append(col[k])
                else:
                    b -= a * box[k][0]
            rhs.append(b)
        A = csr_array((data, (row_idx, col_idx)), shape=(len(rows_of), len(cols)))
        bounds = [(box[k][0], box[k][1] if math.isfinite(box[k][1]) else None) for k in cols]

        seen_lo = {k: math.inf for k in cols}       # the lowest and highest value of each cell
        seen_hi = {k: -math.inf for k in cols}      # in the solutions found so far

        def solve(j, sign):
            """sign * x_j at its minimum, or None when the solver does not say."""
            c = np.zeros(len(cols))
            c[j] = sign
            return lp(c)

        def lp(c):
            res = linprog(c, A_eq=A, b_eq=rhs, bounds=bounds, method="highs")
            if res.status != 0:
                return None
            for kk, x in zip(cols, res.x):
                seen_lo[kk], seen_hi[kk] = min(seen_lo[kk], x), max(seen_hi[kk], x)
            return res.fun

        def seen_moving(k) -> bool:
            """protect's audit: a solution found so far shows that the cell can move by 1."""
            return truth is not None and (seen_hi[k] >= truth[k] + 1 - LP_TOL or seen_lo[k] <= truth[k] - 1 + LP_TOL)

        if truth is not None:
            # protect's audit only asks whether each cell can move by 1. Solutions that push many
            # targets at once usually show that for most of them, and their own linear programs
            # are then not needed (the loop below skips them): first every target up, then down;
            # then, while that still settles at least two cells a round, the targets not yet seen
            # moving, each pushed one way or the other (signs drawn from a fixed seed: the answer
            # does not depend on them, only how fast it comes).
            def unsettled():
                return [k for k in cols if k in targets and not seen_moving(k)]

            left = unsettled()
            signs = np.random.default_rng(0)
            first = True
            while len(left) > 1:
                w = np.zeros(len(cols))
                w[[col[k] for k in left]] = 1.0 if first else signs.choice([-1.0, 1.0], size=len(left))
                lp(-w)
                lp(w)
                first = False
                now = unsettled()
                if len(left) - len(now) < 2:
                    break
                left = now

        for k in (k for k in cols if k in targets):
            j, (lo, hi) = col[k], box[k]
            # A solution already at the box's bound, or (protect's audit) one already showing that
            # the cell can move by 1, makes that linear program unnecessary: same answer.
            if seen_hi[k] < hi - LP_TOL and not seen_moving(k):
                high = solve(j, -1.0)
                if high is not None:
                    hi = min(hi, -high)
            moves = truth is not None and (hi >= truth[k] + 1 - EPS or seen_lo[k] <= truth[k] - 1 + LP_TOL)
            if seen_lo[k] > lo + LP_TOL and not moves:
                low = solve(j, 1.0)
                if low is not None:
                    lo = max(lo, low)
            out[k] = _round(k, lo, hi, integer, LP_TOL)
    return out


class Memo:
    """What protect() decided for each part of a table, by the part's inputs: a part whose sums,
    values, markers and threshold are all those of a part protected before gets that result
    again, and no part is protected from scratch twice. Kept in a JSON file (`path`) between
    builds: a digest of each part's inputs, and the positions of its hidden cells, never a value.
    The file also holds a digest of this module's code: another code starts a new memo. save()
    keeps only the parts of the last build."""

    def __init__(self, path=None):
        import hashlib
        import json
        from pathlib import Path

        self.path = Path(path) if path else None
        self.code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
        self.entries: dict[str, list] = {}
        self.used: dict[str, list] = {}
        self.groups: dict[str, dict] = {}        # see group()
        self.used_groups: dict[str, dict] = {}
        self.hits = self.misses = 0
        self.group_hits = self.group_misses = 0
        if self.path and self.path.exists():
            try:
                saved = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                saved = {}
            if isinstance(saved, dict) and saved.get("code") == self.code:
                self.entries = saved.get("parts", {})
                self.groups = saved.get("groups", {})

    def group(self, key: str, cells: list) -> dict | None:
        """A caller's whole group of cells (for extracts: one indicator's), by a digest of
        everything its sums and its protection follow from (the caller's `key`): what protect()
        hid in it last time, without building its sums again. The parts protected inside it stay
        in the memo with it."""
        got = self.groups.get(key)
        if got is None:
            self.group_misses += 1
            return None
        self.group_hits += 1
        self.used_groups[key] = got
        for part in got["parts"]:
            if part in self.entries:
                self.used[part] = self.entries[part]
        return {cells[i]: mark for i, mark in got["hidden"]}

    def put_group(self, key: str, cells: list, status: dict, parts: list[str]) -> None:
        index = {k: i for i, k in enumerate(cells)}
        self.used_groups[key] = self.groups[key] = {
            "hidden": [[index[k], m] for k, m in status.items() if k in index], "parts": parts}

    def key(self, cells: list, values: Mapping, sensitive: set, keep: set, eqs: list[Terms], threshold: int) -> str:
        import hashlib

        text = repr((threshold, eqs, [(k, values.get(k), k in sensitive, k in keep) for k in cells]))
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, key: str, cells: list) -> dict | None:
        got = self.entries.get(key)
        if got is None:
            self.misses += 1
            return None
        self.hits += 1
        self.used[key] = got
        return {cells[i]: mark for i, mark in got}

    def put(self, key: str, cells: list, status: dict) -> None:
        index = {k: i for i, k in enumerate(cells)}
        self.used[key] = self.entries[key] = [[index[k], m] for k, m in status.items() if k in index]

    def save(self) -> None:
        import json
        import os

        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"code": self.code, "parts": self.used, "groups": self.used_groups}),
                       encoding="utf-8")
        os.replace(tmp, self.path)


def protect(values: Mapping[K, float], sensitive: set[K], equations: Sequence[Equation],
            threshold: int = 5, keep: set[K] = frozenset(), memo: Memo | None = None) -> dict[K, str]:
    """Which cells to hide. Returns {cell: "primary" | "secondary"} for hidden cells only.

    primary: sensitive cells with 0 < value < threshold (never 0, never >= threshold).
    secondary: other cells hidden so that no primary cell can be worked out, by steps (a) and
    (b) of the module docstring. Only cells of `values` are hidden; the equations must hold.

    Which shown cell of a sum becomes its complement:
    1. a nonzero cell before a zero (a hidden 0 protects nothing: the audit treats it as known;
       in step (b) zeros are never chosen);
    2. a cell not in `keep` before one in it (the caller's figures to hide last: for extracts,
       the actuals that targets are measured against);
    3. a part before a total: parts are the terms whose coefficient has the sign most terms
       have (positive on a tie), so in total_of(...) the total is the odd one out; totals are
       the headline figures, and hiding one protects no more than hiding a part;
    4. the smallest absolute value (the least information lost);
    5. the smallest repr(cell), so the choice is deterministic.

    The cells fall into independent parts: cells linked, directly or through others, by sums
    (`components`). Every step above stays inside one part, so each is protected on its own,
    with the same result as all at once; a part whose inputs are those of a part protected before
    (`memo`, see `Memo`) takes that result without any work: a correction of one month changes
    only the parts holding its figures."""
    reprs = _Reprs()
    eqs = _normal(equations, reprs)
    for ts in eqs:
        if not holds(Equation(ts), values):
            raise ValueError(f"Equation does not hold on the values: {ts}")
    status: dict = {k: "primary" for k in values if k in sensitive and 0 < values[k] < threshold}
    for cells, part in components(eqs, reprs):
        sub = {k: values[k] for k in cells if k in values}
        key = memo.key(cells, sub, sensitive, keep, part, threshold) if memo is not None else None
        got = memo.get(key, cells) if key is not None else None
        if got is None:
            got = _protect_part(sub, sensitive, part, threshold, keep)
            if key is not None:
                memo.put(key, cells, got)
        status.update(got)
    return {k: status[k] for k in sorted(status, key=reprs.__getitem__)}


def components(eqs: list[Terms], reprs: _Reprs | None = None):
    """The independent parts of a table: (cells sorted by repr, the sums linking them in their
    canonical order), one per set of cells linked by sums."""
    reprs = _Reprs() if reprs is None else reprs
    parent: dict = {}

    def find(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for ts in eqs:
        for k, _ in ts:
            parent.setdefault(k, k)
        root = find(ts[0][0])
        for k, _ in ts[1:]:
            r = find(k)
            if r != root:
                parent[r] = root
    parts: dict = {}
    for i, ts in enumerate(eqs):
        parts.setdefault(find(ts[0][0]), []).append(i)
    out = []
    for rows in parts.values():
        cells = sorted({k for i in rows for k, _ in eqs[i]}, key=reprs.__getitem__)
        out.append((cells, [eqs[i] for i in rows]))
    return sorted(out, key=lambda cp: reprs[cp[0][0]])


def _protect_part(values: Mapping, sensitive: set, eqs: list[Terms], threshold: int, keep: set) -> dict:
    """protect() for one part: its cells' values and the sums linking them (canonical order)."""
    status: dict = {k: "primary" for k in values if k in sensitive and 0 < values[k] < threshold}
    integer = {k for k, v in values.items() if float(v).is_integer()}
    by_cell: dict = {}
    for i, ts in enumerate(eqs):
        for k, _ in ts:
            by_cell.setdefault(k, []).append(i)
    n_hidden = [sum(k in status for k, _ in ts) for ts in eqs]
    todo = list(range(len(eqs)))     # a heap: sums in canonical order, for determinism

    def hide(k):
        status[k] = "secondary"
        for j in by_cell.get(k, ()):
            n_hidden[j] += 1
            heapq.heappush(todo, j)

    def complement(i, zero_ok=True):
        """(preference, cell) for the shown cell of equation i to hide next, or None."""
        part_sign = 1.0 if 2 * sum(c > 0 for _, c in eqs[i]) >= len(eqs[i]) else -1.0
        return min((((values[k] == 0, k in keep, c * part_sign < 0, abs(values[k]), repr(k)), k) for k, c in eqs[i]
                    if k in values and k not in status and (zero_ok or values[k] != 0)), default=None)

    def more_to_hide(unsafe) -> set:
        """For each disclosed cell: one more cell in each of its sums that still shows a nonzero
        cell; if none does, the best one in the nearest ring of sums around them that does."""
        more = set()
        for u in sorted(unsafe, key=repr):
            ring, seen = set(by_cell.get(u, ())), set()
            while ring:
                found = sorted(p for i in ring if (p := complement(i, zero_ok=False)))
                if found:
                    more |= {k for _, k in (found if not seen else found[:1])}
                    break
                seen |= ring
                ring = {j for i in ring for k, _ in eqs[i] for j in by_cell.get(k, ())} - seen
        return more

    hopeless = None                  # primary cells the markers alone give away (see _pinned_anyway)
    while True:
        while todo:                  # (a) no sum with a single hidden cell
            i = heapq.heappop(todo)
            if n_hidden[i] == 1 and (pick := complement(i)):
                hide(pick[1])
        if threshold <= 2:           # `<2` says 1 by itself: an audit cannot help
            break
        # (b) audit: one sum at a time first; the linear program once that finds nothing to fix.
        box, active = _propagate(values, status, eqs, threshold, integer, sensitive)
        primary = {k for k, s in status.items() if s == "primary"}
        if hopeless is None:
            hopeless = _pinned_anyway(values, status, eqs, by_cell, threshold, integer, sensitive, primary)
        more = more_to_hide(k for k in primary - hopeless if box[k][1] - box[k][0] < 1 - EPS)
        if not more:
            box.update(_lp_bounds(active, box, primary, integer, values))
            more = more_to_hide(k for k in primary - hopeless if box[k][1] - box[k][0] < 1 - EPS)
        if not more:
            break
        for k in sorted(more, key=repr):
            hide(k)
    return status


def _pinned_anyway(values, status, eqs, by_cell, threshold, integer, sensitive, primary) -> set:
    """The primary cells the audit pins down even when every nonzero cell in a sum is hidden: the
    markers alone give them away (`<5` = `<5` + `<5` + `<5` beside shown zeros can only be
    4 = 2 + 1 + 1, say), so no cell hidden for their sake would help. Hiding more cells can only
    widen the attacker's ranges, so these cells are pinned whatever step (b) does; leaving them out
    of step (b) keeps it from hiding, in vain, the headline figures around them."""
    everything = dict(status)
    everything.update({k: "secondary" for k in by_cell if k in values and values[k] != 0 and k not in status})
    box, active = _propagate(values, everything, eqs, threshold, integer, sensitive)
    box.update(_lp_bounds(active, box, primary, integer, values))
    return {k for k in primary if box[k][1] - box[k][0] < 1 - EPS}
