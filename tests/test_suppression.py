"""Small-cell suppression (sos_pipeline/extracts/suppress.py), checked against attackers
written here independently of the module's own audit."""
from __future__ import annotations

import random

import pytest

from sos_pipeline.extracts.suppress import (
    Equation,
    Memo,
    feasible_intervals,
    holds,
    protect,
    total_of,
)

pytestmark = pytest.mark.heavy(12)   # seconds on one core: run early (tests/conftest.py)

ALL = "ALL"


# ------------------------------------------------------------------ tables and attackers

def table(rows: dict[str, dict[str, int]]) -> tuple[dict, list[Equation]]:
    """A breakdown table: {row: {centre: count}} plus an ALL column (row totals), a head row
    (column totals) and the grand total, with all the equations a reader could use."""
    centres = list(next(iter(rows.values())))
    values = {(r, c): v for r, row in rows.items() for c, v in row.items()}
    for r, row in rows.items():
        values[(r, ALL)] = sum(row.values())
    for c in [*centres, ALL]:
        values[("head", c)] = sum(values[(r, c)] for r in rows)
    eqs = [total_of((r, ALL), [(r, c) for c in centres]) for r in [*rows, "head"]]
    eqs += [total_of(("head", c), [(r, c) for r in rows]) for c in [*centres, ALL]]
    return values, eqs


def random_table(rng: random.Random) -> tuple[dict, list[Equation]]:
    n_rows, n_centres = rng.randint(2, 4), rng.randint(2, 3)
    draw = [0, 0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 7, 9, 12]
    return table({f"r{i}": {f"c{j}": rng.choice(draw) for j in range(n_centres)} for i in range(n_rows)})


def single_equation_attack(values, status, eqs) -> dict:
    """What subtraction alone recovers: solve every equation with one unknown, repeatedly."""
    known = {k: v for k, v in values.items() if k not in status}
    progress = True
    while progress:
        progress = False
        for eq in eqs:
            unknown = [(k, c) for k, c in eq.terms if k not in known]
            if len(unknown) == 1:
                k, c = unknown[0]
                known[k] = -sum(cc * known[kk] for kk, cc in eq.terms if kk != k) / c
                progress = True
    return {k: known[k] for k in status if k in known}


def alternative_exists(values, status, eqs, t, sensitive, cell, value, cap) -> bool:
    """Is there a whole-number assignment of the hidden cells, consistent with the shown cells,
    the equations and the markers (`<t`: 1..t-1; `x` on a count: 0 or t..cap; other `x`: 0..cap),
    in which `cell` has `value`? Depth-first search; an equation with one unknown left fixes it."""
    domain = {k: (range(1, t) if s == "primary" else [0, *range(t, cap + 1)] if k in sensitive
                  else range(cap + 1)) for k, s in status.items()}
    by_cell: dict = {}
    for eq in eqs:
        for k, _ in eq.terms:
            by_cell.setdefault(k, []).append(eq)
    known = {k: v for k, v in values.items() if k not in status}

    def assign(k, v, trail) -> bool:
        known[k] = v
        trail.append(k)
        for eq in by_cell.get(k, ()):
            free = [(kk, c) for kk, c in eq.terms if kk not in known]
            rest = sum(c * known[kk] for kk, c in eq.terms if kk in known)
            if not free and abs(rest) > 1e-9:
                return False
            if len(free) == 1:
                kk, c = free[0]
                forced = -rest / c
                if abs(forced - round(forced)) > 1e-9 or round(forced) not in domain[kk]:
                    return False
                if not assign(kk, round(forced), trail):
                    return False
        return True

    def search() -> bool:
        free = sorted((k for k in status if k not in known), key=lambda k: (len(domain[k]), repr(k)))
        if not free:
            return True
        k = free[0]
        # Try values near the truth first: only the speed depends on the order, not the answer.
        for v in sorted(domain[k], key=lambda v: abs(v - values[k])):
            trail: list = []
            if assign(k, v, trail) and search():
                return True
            for kk in trail:
                del known[kk]
        return False

    trail: list = []
    return assign(cell, value, trail) and search()


def pinned_primaries(values, status, eqs, t, sensitive) -> list:
    """Primary cells that have exactly one feasible value (the true one always is feasible)."""
    cap = max(values.values()) + t
    out = []
    for k, s in status.items():
        if s != "primary":
            continue
        others = sorted((v for v in range(1, t) if v != values[k]), key=lambda v: abs(v - values[k]))
        if not any(alternative_exists(values, status, eqs, t, sensitive, k, v, cap) for v in others):
            out.append(k)
    return out


def pinned_by_the_markers_alone(values, eqs, t, cell) -> bool:
    """Is the cell pinned even when every nonzero cell of the table is hidden? Then the markers
    alone give it away (two `<3` cells whose total is `<3` must both be 1), and no suppression
    could prevent it."""
    everything = {k: "primary" if v < t else "secondary" for k, v in values.items() if v}
    return cell in pinned_primaries(values, everything, eqs, t, set(values))


# ------------------------------------------------------------------ the primary rule

def test_primary_rule_uses_the_threshold_argument():
    values = {"zero": 0, "one": 1, "nine": 9, "ten": 10, "eleven": 11}
    status = protect(values, set(values), [], threshold=10)
    assert status == {"nine": "primary", "one": "primary"}
    assert protect(values, set(values), []) == {"one": "primary"}      # default threshold 5


def test_non_sensitive_small_values_are_not_hidden():
    values = {"families": 2, "contacts": 3, "hours": 1.5}
    assert protect(values, {"families"}, []) == {"families": "primary"}
    # A sum of contacts with a small part: nothing in it is a count of people, nothing hidden.
    values = {"c_all": 7, "c_bau": 3, "c_val": 4}
    assert protect(values, set(), [total_of("c_all", ["c_bau", "c_val"])]) == {}


def test_zero_is_shown_and_never_a_complement_while_a_nonzero_term_is_left():
    values = {ALL: 9, "A": 2, "B": 0, "C": 7}
    status = protect(values, set(values), [total_of(ALL, ["A", "B", "C"])])
    assert status["A"] == "primary" and "B" not in status and status["C"] == "secondary"


# ------------------------------------------------------------------ one equation

def test_lone_primary_gets_a_complement_part_before_total():
    values = {ALL: 20, "BAU": 2, "VAL": 8, "RIG": 10}
    eq = total_of(ALL, ["BAU", "VAL", "RIG"])
    assert protect(values, set(values), [eq]) == {"BAU": "primary", "VAL": "secondary"}


def test_a_complement_at_the_threshold_is_not_enough():
    """ALL = BAU + VAL, 6 = 1 + 5: hiding VAL alone leaves VAL >= 5 so BAU <= 1, i.e. BAU = 1."""
    values = {ALL: 6, "BAU": 1, "VAL": 5}
    status = protect(values, set(values), [total_of(ALL, ["BAU", "VAL"])])
    assert status == {ALL: "secondary", "BAU": "primary", "VAL": "secondary"}


def test_two_primaries_at_the_top_of_their_range_hide_the_total():
    """8 = 4 + 4 with both in 1..4 means both are 4."""
    values = {ALL: 8, "BAU": 4, "VAL": 4}
    status = protect(values, set(values), [total_of(ALL, ["BAU", "VAL"])])
    assert status == {ALL: "secondary", "BAU": "primary", "VAL": "primary"}


def test_monthly_average_is_protected_through_its_months():
    """avg * 3 == m1 + m2 + m3 with m1 = 1, m2 = m3 = 6: avg = 13/3 and m1 are `<5`. Showing
    m2 and m3 gives 3 * avg = m1 + 12 with m1 in 1..4, so avg in [13/3, 5]: less than one unit
    of doubt, so m2 (a part, smallest, before m3 by name) is hidden too. Then m2 >= 5 and
    3 * avg = m1 + m2 + 6 gives avg in [4, 5], m1 in [1, 4]."""
    values = {"avg": 13 / 3, "m1": 1, "m2": 6, "m3": 6}
    eq = total_of("avg", ["m1", "m2", "m3"], weight=3)
    assert holds(eq, values) and not holds(eq, {**values, "m1": 2})
    status = protect(values, set(values), [eq])
    assert status == {"avg": "primary", "m1": "primary", "m2": "secondary"}
    iv = feasible_intervals(values, status, [eq], 5, {"m1", "m2", "m3"}, sensitive=set(values))
    assert iv == {"avg": (4.0, 5.0), "m1": (1, 4), "m2": (5, 8)}
    # With m1 = 3, avg = 5 is shown, and m1 + m2 = 9 with m2 >= 5 leaves m1 in 1..4.
    assert protect({**values, "avg": 5.0, "m1": 3}, set(values), [eq]) == {"m1": "primary", "m2": "secondary"}


# ------------------------------------------------------------------ 2-D tables

TABLES = [
    {"rural": {"BAU": 1, "VAL": 5, "RIG": 9}, "urban": {"BAU": 7, "VAL": 6, "RIG": 12}},
    {"girls": {"BAU": 3, "VAL": 0, "RIG": 8}, "boys": {"BAU": 6, "VAL": 2, "RIG": 1},
     "unknown": {"BAU": 0, "VAL": 0, "RIG": 4}},
    {"a": {"BAU": 4, "VAL": 4}, "b": {"BAU": 4, "VAL": 4}},
    {"a": {"BAU": 12, "VAL": 30}, "b": {"BAU": 2, "VAL": 25}, "c": {"BAU": 15, "VAL": 3}},
    COMBINED := {"r0": {"c0": 0, "c1": 9, "c2": 6}, "r1": {"c0": 6, "c1": 0, "c2": 1},
                 "r2": {"c0": 7, "c1": 1, "c2": 0}},
]


@pytest.mark.parametrize("rows", TABLES)
def test_two_way_tables_resist_both_attackers(rows):
    values, eqs = table(rows)
    status = protect(values, set(values), eqs)
    primaries = {k for k, v in values.items() if 0 < v < 5}
    assert {k for k, s in status.items() if s == "primary"} == primaries
    assert all(values[k] >= 5 or values[k] == 0 for k, s in status.items() if s == "secondary")
    solved = single_equation_attack(values, status, eqs)
    assert not primaries & set(solved), solved
    assert pinned_primaries(values, status, eqs, 5, set(values)) == []


def test_randomized_tables_against_brute_force():
    """Hundreds of small tables full of small counts and zeros: no `<t` cell can be pinned to one
    value by the brute-force attacker, except where hiding every nonzero cell would not help
    either (the markers alone give it away); those must stay rare."""
    inherent, checked = 0, 0
    for seed in range(500):
        rng = random.Random(seed)
        values, eqs = random_table(rng)
        t = rng.choice([3, 5, 5, 5])
        status = protect(values, set(values), eqs, threshold=t)
        assert {k for k, s in status.items() if s == "primary"} == {k for k, v in values.items() if 0 < v < t}
        assert not {k for k in single_equation_attack(values, status, eqs) if status[k] == "primary"}, seed
        for k in pinned_primaries(values, status, eqs, t, set(values)):
            assert pinned_by_the_markers_alone(values, eqs, t, k), (seed, k, values, status)
            inherent += 1
        checked += sum(s == "primary" for s in status.values())
    assert checked > 1500 and inherent < checked / 20, (checked, inherent)


def test_deterministic_whatever_the_insertion_order():
    rng = random.Random(7)
    for _ in range(30):
        values, eqs = random_table(rng)
        expected = protect(values, set(values), eqs)
        for _ in range(3):
            keys = list(values)
            rng.shuffle(keys)
            shuffled = {k: values[k] for k in keys}
            eqs2 = [Equation(tuple(rng.sample(e.terms, len(e.terms)))) for e in rng.sample(eqs, len(eqs))]
            got = protect(shuffled, set(rng.sample(keys, len(keys))), eqs2)
            assert got == expected and list(got) == list(expected)


def blocks(seed: int, n: int = 100, replace: dict | None = None) -> tuple[dict, list[Equation]]:
    """n independent 4 x 3 tables side by side (keys (block, row, centre)); `replace`: block ->
    the seed of another table for that block."""
    rng = random.Random(seed)
    values, eqs = {}, []
    for block in range(n):
        r = random.Random((replace or {}).get(block, rng.random()))
        v, e = random_table(r)
        while len(v) != 20:
            v, e = random_table(r)
        values.update({(block, *k): x for k, x in v.items()})
        eqs += [Equation(tuple(((block, *k), c) for k, c in eq.terms)) for eq in e]
    return values, eqs


def test_independent_tables_side_by_side_are_protected_each_as_if_alone():
    values, eqs = blocks(3, n=40)
    together = protect(values, set(values), eqs)
    for block in range(40):
        v = {k[1:]: x for k, x in values.items() if k[0] == block}
        e = [Equation(tuple((k[1:], c) for k, c in eq.terms)) for eq in eqs if eq.terms[0][0][0] == block]
        alone = protect(v, set(v), e)
        assert {(block, *k): s for k, s in alone.items()} == {k: s for k, s in together.items() if k[0] == block}


def test_the_memo_gives_the_same_cells_and_protects_again_only_the_changed_table(tmp_path):
    path = tmp_path / "suppression" / "P.json"
    values, eqs = blocks(5, n=30)
    expected = protect(values, set(values), eqs)
    memo = Memo(path)
    assert protect(values, set(values), eqs, memo=memo) == expected
    assert (memo.hits, memo.misses) == (0, 30)
    memo.save()

    memo = Memo(path)                       # the next build: read from the file
    assert protect(values, set(values), eqs, memo=memo) == expected
    assert (memo.hits, memo.misses) == (30, 0)
    memo.save()

    changed, eqs2 = blocks(5, n=30, replace={17: 0.5})    # one table has other figures
    assert changed != values and {k for k in values if values[k] != changed[k]} <= {k for k in values if k[0] == 17}
    memo = Memo(path)
    assert protect(changed, set(changed), eqs2, memo=memo) == protect(changed, set(changed), eqs2)
    assert (memo.hits, memo.misses) == (29, 1)
    memo.save()
    # what another threshold or other sensitive cells decide is never taken from the memo
    memo = Memo(path)
    assert protect(changed, set(changed), eqs2, threshold=3, memo=memo) == protect(changed, set(changed), eqs2, threshold=3)
    assert memo.hits == 0
    fewer = {k for k in changed if k[0] != 20}
    memo = Memo(path)
    assert protect(changed, fewer, eqs2, memo=memo) == protect(changed, fewer, eqs2)
    assert memo.misses == 1


def test_the_memo_file_holds_digests_and_positions_never_a_value_and_another_code_starts_afresh(tmp_path):
    import json

    path = tmp_path / "P.json"
    values, eqs = blocks(9, n=10)
    memo = Memo(path)
    protect(values, set(values), eqs, memo=memo)
    memo.save()
    saved = json.loads(path.read_text())
    assert set(saved) == {"code", "parts", "groups"} and len(saved["parts"]) == 10 and saved["groups"] == {}
    for digest, hidden in saved["parts"].items():
        assert len(digest) == 64 and int(digest, 16) >= 0
        assert all(isinstance(i, int) and 0 <= i < 20 and mark in ("primary", "secondary") for i, mark in hidden)
    saved["code"] = "an earlier release"
    path.write_text(json.dumps(saved))
    memo = Memo(path)
    protect(values, set(values), eqs, memo=memo)
    assert (memo.hits, memo.misses) == (0, 10)
    path.write_text("{not json")
    memo = Memo(path)
    assert protect(values, set(values), eqs, memo=memo) == protect(values, set(values), eqs)


def test_a_large_extract_is_protected_in_one_pass():
    """2,000 cells in 900 sums: every small count hidden as primary. (How long it takes is the
    benchmark's business, never a test's: see the README's performance section.)"""
    rng = random.Random(1)
    values, eqs = {}, []
    for block in range(100):                   # 100 tables of 4 rows x 3 centres: 2,000 cells
        v, e = random_table(random.Random(rng.random()))
        while len(v) != 20:
            v, e = random_table(random.Random(rng.random()))
        values.update({(block, *k): x for k, x in v.items()})
        eqs += [Equation(tuple(((block, *k), c) for k, c in eq.terms)) for eq in e]
    assert len(values) == 2000 and len(eqs) == 900
    hidden = protect(values, set(values), eqs)
    small = {k for k, v in values.items() if 0 < v < 5}
    assert small and {k for k, why in hidden.items() if why == "primary"} == small


def test_equations_must_hold():
    with pytest.raises(ValueError):
        protect({ALL: 5, "A": 1, "B": 3}, {ALL, "A", "B"}, [total_of(ALL, ["A", "B"])])


# ------------------------------------------------------------------ the attacker's view

def test_feasible_intervals_hand_worked():
    """ALL = BAU + VAL + RIG with ALL = 20 shown, RIG = 8 shown, BAU `<5`, VAL `x`.
    So BAU + VAL = 12.
    - Whole numbers, secondary only >= 0: BAU in [1, 4]; VAL = 12 - BAU in [8, 11].
    - Strong attacker with VAL >= 5 as a count: nothing new (VAL >= 8 already).
    A second sum VAL = V1 + V2 (V1 = 6 shown, V2 hidden, sensitive, true value 5):
    - V2 >= 5 (strong) gives VAL >= 11, so BAU = 12 - VAL <= 1: BAU = 1, VAL = 11, V2 = 5;
    - with V2 >= 0 only: V2 = VAL - 6 in [2, 5], and nothing else moves."""
    values = {ALL: 20, "BAU": 1, "VAL": 11, "RIG": 8, "V1": 6, "V2": 5}
    eqs = [total_of(ALL, ["BAU", "VAL", "RIG"]), total_of("VAL", ["V1", "V2"])]
    hidden = {"BAU": "primary", "VAL": "secondary", "V2": "secondary"}
    weak = feasible_intervals(values, hidden, eqs, 5, integer=set(values))
    assert weak == {"BAU": (1, 4), "VAL": (8, 11), "V2": (2, 5)}
    strong = feasible_intervals(values, hidden, eqs, 5, integer=set(values), sensitive=set(values))
    assert strong == {"BAU": (1, 1), "VAL": (11, 11), "V2": (5, 5)}
    # Not whole numbers: 2 * avg = m1 + m2 with m1 = 3 shown, m2 hidden (>= 0), avg `<5` so in
    # [0, 5]: avg = (3 + m2) / 2 >= 1.5, and m2 = 2 * avg - 3 <= 7.
    iv = feasible_intervals({"avg": 2.5, "m1": 3, "m2": 2}, {"avg": "primary", "m2": "secondary"},
                            [total_of("avg", ["m1", "m2"], weight=2)], 5)
    assert iv == {"avg": (1.5, 5.0), "m2": (0.0, 7.0)}


def test_feasible_intervals_combines_sums():
    """COMBINED (see TABLES) with the cells that checking one sum at a time would hide:
            ALL   c0   c1   c2
    head     30   13    x    x
    r0       15    0    x    x
    r1        x    x    0   <5
    r2        x    x   <5    0
    Each sum alone leaves r1/c2 and r2/c1 anywhere in 1..4. But the head row says
    head/c1 + head/c2 = 30 - 13 = 17, row r0 says r0/c1 + r0/c2 = 15, and the columns say
    head/c1 = r0/c1 + r2/c1 and head/c2 = r0/c2 + r1/c2; so r2/c1 + r1/c2 = 17 - 15 = 2, and
    both are 1."""
    values, eqs = table(COMBINED)
    hidden = {k: "secondary" for k in [("head", "c1"), ("head", "c2"), ("r0", "c1"), ("r0", "c2"),
                                       ("r1", ALL), ("r1", "c0"), ("r2", ALL), ("r2", "c0")]}
    hidden |= {("r1", "c2"): "primary", ("r2", "c1"): "primary"}
    for strong in (None, set(values)):
        iv = feasible_intervals(values, hidden, eqs, 5, set(values), sensitive=strong)
        assert iv[("r1", "c2")] == iv[("r2", "c1")] == (1, 1)
    assert pinned_primaries(values, hidden, eqs, 5, set(values)) == [("r1", "c2"), ("r2", "c1")]
    assert single_equation_attack(values, hidden, eqs) == {}     # subtraction alone finds nothing


def test_protect_passes_its_own_audit():
    rng = random.Random(3)
    for _ in range(100):
        values, eqs = random_table(rng)
        status = protect(values, set(values), eqs)
        box = feasible_intervals(values, status, eqs, 5, set(values), sensitive=set(values))
        for k, s in status.items():
            if s == "primary" and box[k][1] - box[k][0] < 1:
                assert pinned_by_the_markers_alone(values, eqs, 5, k)


def test_a_headline_is_not_hidden_for_a_cell_the_markers_give_away():
    """The families_exited shape of EEA-2013-150's last period, with a headline over two periods:
        h = i + m + r      (4 = 2 + 1 + 1: the period's families exited, by exit reason)
        i = iB + iV        (2 = 1 + 1: one exit reason, by centre; the other centre's cells are 0)
        T = h + Q          (13 = 4 + 9: the whole project = this period + the other one)
    Every one of h, i, iB, iV, m, r is `<5`, and i >= 1 + 1, m >= 1, r >= 1 give h >= 4, so
    h = 4 and all of them are pinned by the markers alone: no `x` anywhere can change that.
    Step (a) hides Q (T = h + Q with h alone hidden). The audit then finds h pinned; the old rule
    hid T, the headline, for it, in vain. Now T stays shown, and the brute-force attacker learns
    nothing that it would not learn with every cell hidden."""
    values = {"T": 13, "h": 4, "Q": 9, "i": 2, "iB": 1, "iV": 1, "m": 1, "r": 1}
    eqs = [total_of("h", ["i", "m", "r"]), total_of("i", ["iB", "iV"]), total_of("T", ["h", "Q"])]
    status = protect(values, set(values), eqs)
    assert status == {"Q": "secondary", **{k: "primary" for k in ["h", "i", "iB", "iV", "m", "r"]}}
    assert "T" not in status
    pinned = pinned_primaries(values, status, eqs, 5, set(values))
    assert sorted(pinned) == sorted(k for k in pinned if pinned_by_the_markers_alone(values, eqs, 5, k))
    everything = {k: "primary" if v < 5 else "secondary" for k, v in values.items()}
    assert sorted(pinned) == sorted(pinned_primaries(values, everything, eqs, 5, set(values)))
    # With T hidden too (the old choice), exactly the same cells are pinned: hiding T bought nothing.
    assert pinned_primaries(values, {**status, "T": "secondary"}, eqs, 5, set(values)) == pinned


def _two_indicators(bump: int = 0) -> dict:
    """contacts and families_served (with its monthly average) at centres A and B and ALL, in two
    months and the period P1 made of them; every total the sum of its centres."""
    base = {("contacts", "2020-01"): (3, 9), ("contacts", "2020-02"): (12, 2), ("contacts", "P1"): (15, 11),
            ("families_served", "2020-01"): (2, 7), ("families_served", "2020-02"): (6, 1),
            ("families_served", "P1"): (6, 7)}
    values = {}
    for (ind, period), (a, b) in base.items():
        if (ind, period) == ("contacts", "2020-01"):
            a += bump
        values.update({(ind, None, "A", period): float(a), (ind, None, "B", period): float(b),
                       (ind, None, "ALL", period): float(a + b)})
    for c in ("A", "B", "ALL"):
        months = [values[("families_served", None, c, m)] for m in ("2020-01", "2020-02")]
        values[("families_served_monthly_avg", None, c, "P1")] = sum(months) / 2
    return values


def test_an_extracts_memo_skips_the_indicators_whose_cells_are_unchanged(tmp_path):
    """content._protect_by_indicator: one indicator at a time gives what protect() gives for the
    whole table; with a memo, an indicator whose cells are as before is not protected again, one
    whose figures changed is, and the result is what a build without a memo gives."""
    from sos_pipeline.extracts.content import _protect_by_indicator, equations

    setting = dict(threshold=5, codes=["A", "B"], whole={"P1": ["2020-01", "2020-02"]}, over_time=[],
                   spans={"P1": 2})
    values = _two_indicators()
    everything = set(values)
    whole_table = protect(values, everything, equations(values, ["A", "B"], setting["whole"], [], setting["spans"]))
    assert {s for s in whole_table.values()} == {"primary", "secondary"}       # something to hide
    assert _protect_by_indicator(values, everything, set(), memo=None, **setting) == whole_table

    path = tmp_path / "P.json"
    memo = Memo(path)
    assert _protect_by_indicator(values, everything, set(), memo=memo, **setting) == whole_table
    assert (memo.group_hits, memo.group_misses) == (0, 2)
    memo.save()
    memo = Memo(path)
    assert _protect_by_indicator(values, everything, set(), memo=memo, **setting) == whole_table
    assert (memo.group_hits, memo.group_misses, memo.hits, memo.misses) == (2, 0, 0, 0)
    memo.save()

    changed = _two_indicators(bump=2)                      # A: 5 contacts in January, not 3
    memo = Memo(path)
    fresh = _protect_by_indicator(changed, set(changed), set(), memo=None, **setting)
    assert _protect_by_indicator(changed, set(changed), set(), memo=memo, **setting) == fresh
    assert (memo.group_hits, memo.group_misses) == (1, 1)
    assert fresh != whole_table                             # A in January is no longer hidden
    memo.save()
    # the parts of an indicator taken whole from the memo stay in its file, which holds digests
    # and positions, never a value
    assert len(Memo(path).entries) == len(memo.used) > 0
    import json
    saved = json.loads(path.read_text())
    assert len(saved["groups"]) == 2
    for digest, group in saved["groups"].items():
        assert len(digest) == 64 and int(digest, 16) >= 0 and set(group) == {"hidden", "parts"}
        assert all(isinstance(i, int) and mark in ("primary", "secondary") for i, mark in group["hidden"])
        assert all(part in saved["parts"] for part in group["parts"])
