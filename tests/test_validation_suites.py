"""The validation suites (Great Expectations 1.x on pandas) and the rule catalogue.

Three parts:
1. Each GX expectation class the suites use, proven on the pandas engine with the
   dtypes the parser produces: it passes on good data and fails on bad data with the
   right `_row` numbers.
2. One test per validation rule: the clean delivery passes; one mutation makes exactly
   that rule fire (within its suite), on the right rows, with the right severity.
3. The whole delivery: clean passes, findings grouped by suite, never a cell value,
   import hygiene, the rule document, and the time a ~1000-row delivery takes.

GX and the suites are built once per process (the first test pays ~5 s of import).
"""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import helpers_validation as H
from sos_pipeline import contract as C
from sos_pipeline.findings import ERROR, WARNING
from sos_pipeline.validation import rules as R
from sos_pipeline.validation import suites as S

pytestmark = pytest.mark.heavy(20)   # seconds on one core: run early (tests/conftest.py)

ROOT = Path(__file__).resolve().parent.parent


# =======================================================================================
# 1. Each GX expectation class, on the engine it runs on.

_PROBE = {}


def probe(expectation, df: pd.DataFrame, params: dict | None = None) -> tuple[bool, list[int]]:
    """Validate one expectation on `df` through the suites' own (cached) GX context.

    Runs it both ways the suites do (BOOLEAN_ONLY, then COMPLETE) and checks they agree.
    Returns (success, sorted failing `_row` numbers).
    """
    if not _PROBE:
        ctx = S._gx().context
        ds = ctx.data_sources.add_pandas("probe")
        _PROBE["bd"] = ds.add_dataframe_asset("probe").add_batch_definition_whole_dataframe("probe")
    batch = _PROBE["bd"].get_batch(batch_parameters={"dataframe": df})
    quick = batch.validate(expectation, result_format=S.QUICK_FORMAT, expectation_parameters=params)
    full = batch.validate(expectation, result_format=S.RESULT_FORMAT, expectation_parameters=params)
    for r in (quick, full):
        assert not S._raised(r.exception_info), r.exception_info
    assert quick.success == full.success
    rows = sorted(int(x["_row"]) for x in full.result.get("unexpected_index_list") or ())
    assert full.result.get("unexpected_count", 0) == len(rows)
    return full.success, rows


def gxe():
    S._gx()
    import great_expectations.expectations as gxe
    return gxe


def col():
    from great_expectations.expectations.row_conditions import Column
    return Column


ROWS = [2, 3, 5, 8, 13]     # not contiguous: the rows come from `_row`, not the index


def df_(**cols) -> pd.DataFrame:
    return pd.DataFrame({"_delivery": pd.Series([0] * len(ROWS), dtype="int64"),
                         "_table": obj(*["t"] * len(ROWS)), "_row": pd.Series(ROWS, dtype="int64"),
                         **cols})


def obj(*v):
    return pd.Series(list(v), dtype=object)


def dates(*v, unit="us"):
    return pd.Series([H.d(x) for x in v], dtype=f"datetime64[{unit}]")


def ints(*v):
    return pd.Series(list(v), dtype="Int64")


def proof_not_null():
    E, Col = gxe().ExpectColumnValuesToNotBeNull, col()
    assert probe(E(column="a"), df_(a=obj("x", "y", "z", "u", "v"))) == (True, [])
    assert probe(E(column="a"), df_(a=obj("x", None, "z", None, "v"))) == (False, [3, 8])
    assert probe(E(column="n"), df_(n=ints(1, None, 3, 4, None))) == (False, [3, 13])
    assert probe(E(column="d"), df_(d=dates("2014-03-01", None, None, "2014-03-02", "2014-03-03"))) \
        == (False, [3, 5])
    # With the row condition services.minutes.required uses (a row with no service counts).
    cond = E(column="m", row_condition=Col("s") != "material_aid")
    s = obj("legal", "material_aid", None, "legal", "material_aid")
    assert probe(cond, df_(s=s, m=ints(5, None, 5, 5, None))) == (True, [])
    assert probe(cond, df_(s=s, m=ints(None, None, None, 5, 7))) == (False, [2, 5])
    # With the condition families.exit_reason.iff_exited uses.
    cond = E(column="r", row_condition=Col("x").is_not_null())
    x = dates("2014-03-01", None, "2014-03-02", None, None)
    assert probe(cond, df_(x=x, r=obj("moved", None, "other", None, None))) == (True, [])
    assert probe(cond, df_(x=x, r=obj(None, None, "other", None, None))) == (False, [2])


def proof_be_null():
    E, Col = gxe().ExpectColumnValuesToBeNull, col()
    assert probe(E(column="d"), df_(d=dates(None, None, None, None, None, unit="ns"))) == (True, [])
    assert probe(E(column="d"), df_(d=dates(None, "2014-01-01", None, None, "2014-02-01", unit="ns"))) \
        == (False, [3, 13])
    cond = E(column="r", row_condition=Col("x").is_null())
    x = dates("2014-03-01", None, "2014-03-02", None, None)
    assert probe(cond, df_(x=x, r=obj("moved", None, "other", None, None))) == (True, [])
    assert probe(cond, df_(x=x, r=obj("moved", "moved", "other", None, "x"))) == (False, [3, 13])


def proof_unique():
    E = gxe().ExpectColumnValuesToBeUnique
    assert probe(E(column="k"), df_(k=obj("a", "b", None, "c", None))) == (True, [])  # empties ignored
    assert probe(E(column="k"), df_(k=obj("a", "b", "a", "c", "b"))) == (False, [2, 3, 5, 13])


def proof_in_set():
    E = gxe().ExpectColumnValuesToBeInSet
    codes = ["urban", "rural"]
    assert probe(E(column="c", value_set=codes), df_(c=obj("urban", None, "rural", "urban", None))) \
        == (True, [])
    assert probe(E(column="c", value_set=codes), df_(c=obj("urban", "Urban", "rural", "x", None))) \
        == (False, [3, 8])
    # Helper flags: True / False / empty (not applicable).
    flags = E(column="f", value_set=[True])
    assert probe(flags, df_(f=obj(True, None, True, True, None))) == (True, [])
    assert probe(flags, df_(f=obj(True, False, None, False, True))) == (False, [3, 8])
    # A suite parameter, also an empty one (every filled-in value fails).
    p = E(column="c", value_set={"$PARAMETER": "known"})
    c = obj("P1", None, "P2", "P1", None)
    assert probe(p, df_(c=c), {"known": ["P1", "P2"]}) == (True, [])
    assert probe(p, df_(c=c), {"known": ["P1"]}) == (False, [5])
    assert probe(p, df_(c=c), {"known": []}) == (False, [2, 5, 8])


def proof_not_in_set():
    E = gxe().ExpectColumnValuesToNotBeInSet
    p = E(column="c", value_set={"$PARAMETER": "used"})
    c = obj("S-1", None, "S-2", "S-3", "S-1")
    assert probe(p, df_(c=c), {"used": []}) == (True, [])
    assert probe(p, df_(c=c), {"used": ["S-9"]}) == (True, [])
    assert probe(p, df_(c=c), {"used": ["S-1", "S-3"]}) == (False, [2, 8, 13])


def proof_match_regex():
    E = gxe().ExpectColumnValuesToMatchRegex
    rx = E(column="r", regex=S._code_list_regex(C.RISK_FACTORS))
    good = obj("alcohol", "parenting;poverty", "parent_abroad; housing", None, "violence;")
    assert probe(rx, df_(r=good)) == (True, [])
    bad = obj("alcohol", "alcohol;drugs", "Alcohol", None, "alcohol poverty")
    assert probe(rx, df_(r=bad)) == (False, [3, 5, 13])


def proof_between():
    E = gxe().ExpectColumnValuesToBeBetween
    r = E(column="n", min_value=1, max_value=10)
    assert probe(r, df_(n=ints(1, 10, None, 5, 2))) == (True, [])
    assert probe(r, df_(n=ints(0, 10, None, 11, 2))) == (False, [2, 8])
    r = E(column="h", min_value=0, strict_min=True)           # trainings.hours > 0
    assert probe(r, df_(h=pd.Series([0.5, 6.0, None, 1e-3, 40.0], dtype="float64"))) == (True, [])
    assert probe(r, df_(h=pd.Series([0.0, 6.0, None, -1.0, 40.0], dtype="float64"))) == (False, [2, 8])
    r = E(column="n", min_value=1)                             # trainings.participants >= 1
    assert probe(r, df_(n=ints(1, 300, None, 5, 2))) == (True, [])
    assert probe(r, df_(n=ints(1, 0, None, 5, -2))) == (False, [3, 13])
    # Dates against Timestamp parameters, both units the pipeline may produce.
    params = {"a": pd.Timestamp("2014-03-01"), "b": pd.Timestamp("2014-03-31")}
    r = E(column="d", min_value={"$PARAMETER": "a"}, max_value={"$PARAMETER": "b"})
    for unit in ("us", "ns"):
        ok = dates("2014-03-01", "2014-03-31", None, "2014-03-15", "2014-03-02", unit=unit)
        bad = dates("2014-02-28", "2014-03-31", None, "2014-04-01", "2014-03-02", unit=unit)
        assert probe(r, df_(d=ok), params) == (True, [])
        assert probe(r, df_(d=bad), params) == (False, [2, 8])
    r = E(column="d", max_value={"$PARAMETER": "b"})
    assert probe(r, df_(d=dates("2001-01-01", "2014-03-31", None, None, None)), params) == (True, [])
    assert probe(r, df_(d=dates("2001-01-01", "2014-04-01", None, None, None)), params) == (False, [3])
    # Integers against integer parameters (children.birth_year).
    r = E(column="y", min_value={"$PARAMETER": "lo"}, max_value={"$PARAMETER": "hi"})
    yp = {"lo": 1990, "hi": 2014}
    assert probe(r, df_(y=ints(1990, 2014, None, 2000, 2005)), yp) == (True, [])
    assert probe(r, df_(y=ints(1989, 2014, None, 2015, 2005)), yp) == (False, [2, 8])


def proof_a_greater_than_b():
    E = gxe().ExpectColumnPairValuesAToBeGreaterThanB
    r = E(column_A="e", column_B="s", or_equal=True, ignore_row_if="either_value_is_missing")
    for unit in ("us", "ns"):
        s = dates("2014-03-01", "2014-03-05", None, "2014-03-10", "2014-03-10", unit=unit)
        good = dates("2014-03-01", "2014-04-02", "2014-03-01", None, "2014-03-11", unit=unit)
        bad = dates("2014-02-28", "2014-04-02", "2014-03-01", None, "2014-03-09", unit=unit)
        assert probe(r, df_(s=s, e=good)) == (True, [])
        assert probe(r, df_(s=s, e=bad)) == (False, [2, 13])
    # Mixed units (a delivery's dates beside the month bounds) and nullable integers
    # (a birth year beside the year bounds of its delivery's month).
    s = dates("2014-03-01", "2014-03-05", None, "2014-03-10", "2014-03-10", unit="ns")
    assert probe(r, df_(s=s, e=dates("2014-03-01", "2014-03-04", None, None, "2014-03-11"))) == (False, [3])
    lo = ints(1990, 1990, 1990, 1990, 1990)
    assert probe(r, df_(s=lo, e=ints(1990, 2014, None, 1989, 2000))) == (False, [8])


def proof_pair_equal():
    E = gxe().ExpectColumnPairValuesToBeEqual
    r = E(column_A="a", column_B="b", ignore_row_if="either_value_is_missing")
    a = dates("2012-09-14", "2013-01-01", None, "2014-03-02", "2014-03-02", unit="ns")
    good = dates("2012-09-14", None, "2013-01-01", "2014-03-02", None, unit="ns")
    bad = dates("2012-09-15", None, "2013-01-01", "2014-03-02", None, unit="ns")
    assert probe(r, df_(a=a, b=good)) == (True, [])
    assert probe(r, df_(a=a, b=bad)) == (False, [2])


PROOFS = {
    "ExpectColumnValuesToNotBeNull": proof_not_null,
    "ExpectColumnValuesToBeNull": proof_be_null,
    "ExpectColumnValuesToBeUnique": proof_unique,
    "ExpectColumnValuesToBeInSet": proof_in_set,
    "ExpectColumnValuesToNotBeInSet": proof_not_in_set,
    "ExpectColumnValuesToMatchRegex": proof_match_regex,
    "ExpectColumnValuesToBeBetween": proof_between,
    "ExpectColumnPairValuesAToBeGreaterThanB": proof_a_greater_than_b,
    "ExpectColumnPairValuesToBeEqual": proof_pair_equal,
}


def test_every_expectation_class_used_has_a_proof():
    assert set(S.expectation_classes()) == set(PROOFS)


@pytest.mark.parametrize("cls", sorted(PROOFS))
def test_expectation_works_on_pandas(cls):
    PROOFS[cls]()


def test_row_conditions_the_suites_use_are_proven():
    used = {(c.expectation, c.condition[0]) for c in S.plan() if c.condition}
    assert used <= {("ExpectColumnValuesToNotBeNull", "ne"), ("ExpectColumnValuesToNotBeNull", "notnull"),
                    ("ExpectColumnValuesToBeNull", "null")}
    # Column-pair expectations never get a row condition (GX 1.24 miscounts them).
    assert not [c for c in S.plan() if c.condition and "Pair" in c.expectation]


def test_a_failing_evaluation_raises_without_values():
    class Res:
        def __init__(self, info):
            self.exception_info, self.success = info, False
            self.expectation_config = type("Cfg", (), {"meta": {"check": next(iter(S._gx().checks))}})()

    nested = {"metric-id": {"raised_exception": True, "exception_message": "B-0137 is bad"}}
    for info in ({"raised_exception": True, "exception_message": "B-0137"}, nested):
        with pytest.raises(S.ValidationSuiteError) as e:
            S._check_evaluated(S._gx(), "families", [Res(info)])
        assert "B-0137" not in str(e.value)
    S._check_evaluated(S._gx(), "families", [Res({"raised_exception": False})])


# =======================================================================================
# 2. One test per rule.

def run(rows, suites=None, **ctx):
    return S.validate_delivery_by_suite(H.tables_from(rows), H.context(**ctx), suites)


def set_(table, i, **values):
    def m(rows, ctx):
        rows[table][i].update(values)
    return m


def append(table, base=0, **values):
    def m(rows, ctx):
        rows[table].append(dict(rows[table][base], **values))
    return m


def with_ctx(**kw):
    def m(rows, ctx):
        ctx.update(kw)
    return m


def seq(*ms):
    def m(rows, ctx):
        for f in ms:
            f(rows, ctx)
    return m


@dataclasses.dataclass
class Case:
    mutate: object
    rows: tuple
    also: tuple = ()        # other rules of the same suite that must fire too


def _n(table):
    return len(H._ROWS[table])


def _required_cases() -> dict[str, Case]:
    # Keys referenced from other tables get a new row without the key instead.
    appended = {("families", "family_ref"): {},
                ("children", "child_ref"): {},
                ("children", "family_ref"): {"child_ref": H.ref("new-child")},
                ("group_sessions", "session_id"): {},
                ("events", "event_id"): {}}
    cases = {}
    for t in C.TABLES.values():
        for c in t.columns:
            if not c.required:
                continue
            rid = f"{t.name}.{c.name}.required"
            if (t.name, c.name) in appended:
                extra = appended[(t.name, c.name)]
                cases[rid] = Case(append(t.name, 0, **{c.name: None, **extra}), (_n(t.name) + 2,))
            else:
                i = min(1, _n(t.name) - 1)
                cases[rid] = Case(set_(t.name, i, **{c.name: None}), (i + 2,))
    # Rows 2 and 3 lack minutes; row 4 (material aid) may.
    cases["services.minutes.required"] = Case(
        seq(set_("services", 0, minutes=None), set_("services", 1, minutes=None)), (2, 3))
    return cases


CASES: dict[str, Case] = {
    **_required_cases(),
    # unique within the delivery: both rows are reported
    "families.family_ref.unique": Case(append("families", 0), (2, 5)),
    "children.child_ref.unique": Case(append("children", 0), (2, 6)),
    "services.contact_id.unique": Case(append("services", 0), (2, 6)),
    "group_sessions.session_id.unique": Case(append("group_sessions", 0), (2, 4)),
    "events.event_id.unique": Case(append("events", 0), (2, 4)),
    "mentoring.pair_id.unique": Case(append("mentoring", 0), (2, 4)),
    "trainings.training_id.unique": Case(append("trainings", 0), (2, 3)),
    # unique within the centre
    **{f"{t}.{c}.unique_centre": Case(with_ctx(existing_ids={
        t: {H._ROWS[t][0][c], "OLD-1", "OLD-2"}}), (2,)) for t, c in C.CENTRE_UNIQUE_IDS.items()},
    # code lists
    "families.exit_reason.in_set": Case(set_("families", 2, exit_reason="gone"), (4,)),
    "families.territory_type.in_set": Case(set_("families", 1, territory_type="Rural"), (3,)),
    "families.target_group.in_set": Case(set_("families", 1, target_group="foster"), (3,)),
    "families.referral_source.in_set": Case(set_("families", 0, referral_source="church"), (2,)),
    "families.risk_factors.in_set": Case(set_("families", 1, risk_factors="alcohol;drugs"), (3,)),
    "children.sex.in_set": Case(set_("children", 1, sex="X"), (3,)),
    "children.disability.in_set": Case(set_("children", 1, disability="maybe"), (3,)),
    "services.service.in_set": Case(set_("services", 1, service="psychiatrist"), (3,)),
    "services.mode.in_set": Case(set_("services", 1, mode="email"), (3,)),
    "group_sessions.group_type.in_set": Case(set_("group_sessions", 1, group_type="yoga"), (3,)),
    "events.event_type.in_set": Case(set_("events", 1, event_type="party"), (3,)),
    "trainings.topic.in_set": Case(set_("trainings", 0, topic="cooking"), (2,)),
    "trainings.participant_type.in_set": Case(set_("trainings", 0, participant_type="teacher"), (2,)),
    # ranges
    "families.adults.range": Case(seq(set_("families", 0, adults=0), set_("families", 2, adults=11)),
                                  (2, 4)),
    "children.birth_year.range": Case(seq(set_("children", 0, birth_year=2015),      # age -1
                                          set_("children", 3, birth_year=1989)),     # age 25
                                      (2, 5)),
    "services.minutes.range": Case(seq(set_("services", 0, minutes=601), set_("services", 3, minutes=0)),
                                   (2, 5)),
    "event_participants.adults.range": Case(set_("event_participants", 1, adults=11), (3,)),
    "event_participants.children.range": Case(set_("event_participants", 0, children=16), (2,)),
    "trainings.participants.range": Case(set_("trainings", 0, participants=0), (2,)),
    "trainings.hours.range": Case(set_("trainings", 0, hours=0.0), (2,)),
    # dates within the month
    "families.exited_on.in_month": Case(set_("families", 2, exited_on=H.d("2014-02-28")), (4,)),
    "services.date.in_month": Case(seq(set_("services", 1, date=H.d("2014-04-01")),
                                       set_("services", 3, date=H.d("2014-02-28"))), (3, 5)),
    "group_sessions.date.in_month": Case(set_("group_sessions", 0, date=H.d("2014-02-28")), (2,)),
    "events.start_date.in_month": Case(set_("events", 1, start_date=H.d("2014-02-27")), (3,)),
    "mentoring.ended_on.in_month": Case(set_("mentoring", 1, ended_on=H.d("2014-04-01")), (3,)),
    "trainings.start_date.in_month": Case(set_("trainings", 0, start_date=H.d("2014-02-28")), (2,)),
    "families.enrolled_on.not_after_month": Case(set_("families", 1, enrolled_on=H.d("2014-04-01")), (3,)),
    "mentoring.started_on.not_after_month": Case(set_("mentoring", 0, started_on=H.d("2014-04-01")), (2,)),
    "events.end_date.after_start": Case(set_("events", 1, end_date=H.d("2014-03-07")), (3,)),
    "trainings.end_date.after_start": Case(set_("trainings", 0, end_date=H.d("2014-03-02")), (2,)),
    "families.exit_reason.iff_exited": Case(seq(set_("families", 2, exit_reason=None),
                                                set_("families", 0, exit_reason="moved")), (2, 4)),
    # across tables
    "children.family_ref.listed": Case(append("children", 0, child_ref=H.ref("c9"), family_ref=H.ref("f9")),
                                       (6,)),
    "services.family_ref.listed": Case(set_("services", 0, family_ref=H.ref("f9")), (2,)),
    "group_attendance.family_ref.listed": Case(set_("group_attendance", 0, family_ref=H.ref("f9")), (2,)),
    "event_participants.family_ref.listed": Case(set_("event_participants", 1, family_ref=H.ref("f9")),
                                                 (3,)),
    # A mentoring pair's child must be of its family, so an unlisted family fails both.
    "mentoring.family_ref.listed": Case(set_("mentoring", 0, family_ref=H.ref("f9")), (2,),
                                        also=("mentoring.child_ref.of_family",)),
    "services.child_ref.of_family": Case(set_("services", 1, child_ref=H.K11), (3,)),
    "group_attendance.child_ref.of_family": Case(set_("group_attendance", 1, child_ref=H.K21), (3,)),
    "mentoring.child_ref.of_family": Case(set_("mentoring", 0, child_ref=H.ref("nobody")), (2,)),
    "group_attendance.session_id.listed": Case(set_("group_attendance", 2, session_id="BAU-G-X"), (4,)),
    "event_participants.event_id.listed": Case(set_("event_participants", 0, event_id="BAU-E-X"), (2,)),
    # projects
    **{f"{t}.project.known": Case(set_(t, _n(t) - 1, project="NOPE-1"), (_n(t) + 1,))
       for t in ("services", "group_sessions", "events", "mentoring", "trainings")},
    **{f"{t}.project.centre": Case(set_(t, 0, project="P-VAL"), (2,))
       for t in ("services", "group_sessions", "events", "mentoring", "trainings")},
    # P-LATE starts on 2014-03-15; all these activities are dated earlier.
    "services.project.window": Case(set_("services", 0, project="P-LATE"), (2,)),
    "group_sessions.project.window": Case(set_("group_sessions", 0, project="P-LATE"), (2,)),
    "events.project.window": Case(set_("events", 1, project="P-LATE"), (3,)),
    "mentoring.project.window": Case(set_("mentoring", 0, project="P-LATE"), (2,)),
    "trainings.project.window": Case(set_("trainings", 0, project="P-LATE"), (2,)),
    # earlier months
    "families.enrolled_on.changed": Case(with_ctx(previous_families=H.previous([
        (H.F1, "2012-09-01", None, "2014-02-01"), (H.F2, "2013-03-02", None, "2014-02-01")])), (2,)),
    "families.family_ref.after_exit": Case(with_ctx(previous_families=H.previous([
        (H.F2, "2013-03-02", "2014-01-20", "2014-01-01"), (H.F2, "2013-03-02", None, "2014-02-01")])),
        (3,)),
}


def test_every_validation_rule_has_a_check_and_a_case():
    validation = {r.id for r in R.validation_rules()}
    assert {r for c in S.plan() for r in c.rule_ids} == validation
    assert set(CASES) == validation
    for c in S.plan():
        for table, rid in c.rules:
            assert R.rule(rid).suite == c.suite and R.rule(rid).table == table


def test_clean_delivery_passes_every_suite():
    out = run(H.clean_rows())
    assert list(out) == S.suite_names()
    assert out == {s: [] for s in S.suite_names()}


@pytest.fixture(scope="module")
def every_case() -> dict:
    """Every case's delivery (a clean one broken in one way), validated in one batch, as the
    loader validates a queue: each suite runs once for all of them, and each finding must come
    back to its own delivery. rule id -> suite -> findings."""
    items = []
    for rule_id in sorted(CASES):
        rows, ctx = H.clean_rows(), {}
        CASES[rule_id].mutate(rows, ctx)
        items.append((H.tables_from(rows), H.context(**ctx)))
    return dict(zip(sorted(CASES), S.validate_batch(items)))


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule(rule_id, every_case):
    case, rule = CASES[rule_id], R.rule(rule_id)
    findings = every_case[rule_id][rule.suite]
    assert sorted(f.rule for f in findings) == sorted([rule_id, *case.also])
    f = next(f for f in findings if f.rule == rule_id)
    assert f.rows == case.rows
    assert f.count == len(case.rows)
    assert f.severity == rule.severity
    assert (f.table, f.column) == (rule.table, rule.column)
    assert f.table == rule_id.split(".")[0]


def test_severities():
    warnings = {r.id for r in R.RULES if r.severity == WARNING}
    assert warnings == {"structure.unknown_column", "structure.unknown_table", "structure.empty_table",
                        "structure.id_float", "structure.ignored_entry", "families.enrolled_on.changed",
                        "families.family_ref.after_exit",
                        *(f"{t}.project.window" for t in ("services", "group_sessions", "events",
                                                          "mentoring", "trainings"))}
    assert all(r.severity in (ERROR, WARNING) for r in R.RULES)


# ---- finer points of some rules

def test_material_aid_needs_no_minutes_but_a_row_without_service_does():
    rows = H.clean_rows()
    rows["services"][1].update(service=None, minutes=None)
    fs = run(rows, ["services"])["services"]
    assert {f.rule: f.rows for f in fs} == {"services.service.required": (3,),
                                            "services.minutes.required": (3,)}


def test_window_end_and_edges():
    rows = H.clean_rows()
    # P-OLD ended 2014-03-05: a contact on the 5th is inside, the 10th outside.
    projects = dict(H.PROJECTS, **{"P-OLD": H.project("P-OLD", ["BAU"], "2013-01-01", "2014-03-05")})
    rows["services"][1].update(project="P-OLD")                           # 2014-03-10
    rows["services"][3].update(project="P-OLD", date=H.d("2014-03-05"))
    # A contact on P-LATE's first day is inside.
    rows["services"][2].update(date=H.d("2014-03-15"))
    fs = run(rows, ["cross_table"], projects=projects)["cross_table"]
    assert [(f.rule, f.rows, f.severity) for f in fs] == [("services.project.window", (3,), WARNING)]


def test_no_projects_at_all_every_project_code_is_unknown():
    rows = H.clean_rows()
    fs = run(rows, ["cross_table"], projects={})["cross_table"]
    assert {f.rule: f.rows for f in fs} == {
        "services.project.known": (2, 4, 5), "group_sessions.project.known": (2,),
        "events.project.known": (2,), "mentoring.project.known": (2,),
        "trainings.project.known": (2,)}


def test_re_enrolment_after_exit_is_not_a_change():
    prev = H.previous([(H.F3, "2013-01-10", "2014-01-15", "2014-01-01")])   # F3 left in January
    assert run(H.clean_rows(), ["cross_table"], previous_families=prev)["cross_table"] == []


def test_enrolled_on_compared_with_the_latest_earlier_month():
    prev = H.previous([(H.F1, "2012-01-01", None, "2013-12-01"), (H.F1, "2012-09-14", None, "2014-02-01")])
    assert run(H.clean_rows(), ["cross_table"], previous_families=prev)["cross_table"] == []
    prev = H.previous([(H.F1, "2012-09-14", None, "2013-12-01"), (H.F1, "2012-01-01", None, "2014-02-01")])
    fs = run(H.clean_rows(), ["cross_table"], previous_families=prev)["cross_table"]
    assert [(f.rule, f.rows, f.severity) for f in fs] == [("families.enrolled_on.changed", (2,), WARNING)]


def test_ids_used_in_other_months_only_matter_when_reused():
    existing = {t: {f"OLD-{i}" for i in range(100)} for t in C.CENTRE_UNIQUE_IDS}
    assert run(H.clean_rows(), ["cross_table"], existing_ids=existing)["cross_table"] == []


def test_child_of_the_same_family_listed_elsewhere_is_fine_but_not_of_another():
    rows = H.clean_rows()
    rows["group_attendance"].append(dict(session_id="BAU-G-2014-03-02", family_ref=H.F3, child_ref=H.K31))
    rows["services"][0].update(child_ref=H.K31)                               # F1 with F3's child
    fs = run(rows, ["cross_table"])["cross_table"]
    assert [(f.rule, f.rows) for f in fs] == [("services.child_ref.of_family", (2,))]


# =======================================================================================
# 3. The whole delivery.

def test_optional_tables_may_be_absent_or_empty():
    rows = {t: H._ROWS[t] for t in ("families", "children", "services")}
    tables = {t: H.frame(t, r) for t, r in rows.items()}
    assert S.validate_delivery(tables, H.context()) == []
    tables.update({t: H.empty(t) for t in C.TABLES if t not in tables})
    assert S.validate_delivery(tables, H.context()) == []


def test_findings_grouped_by_suite():
    rows = H.clean_rows()
    rows["services"][0].update(minutes=700, project="P-LATE")
    rows["children"].append(dict(rows["children"][0], child_ref=H.ref("c9"), family_ref=H.ref("f9")))
    rows["trainings"][0].update(topic="cooking")
    out = S.validate_delivery_by_suite(H.tables_from(rows), H.context())
    got = {s: sorted(f.rule for f in fs) for s, fs in out.items() if fs}
    assert got == {"services": ["services.minutes.range"],
                   "trainings": ["trainings.topic.in_set"],
                   "cross_table": ["children.family_ref.listed", "services.project.window"]}
    flat = [f for fs in out.values() for f in fs]
    window = next(f for f in flat if f.rule == "services.project.window")
    assert window.severity == WARNING and window.rows == (2,)
    assert "row 2" in window.message and "services" in window.message


def test_findings_never_hold_a_cell_value():
    secret = {
        "ref": "feedc0ffee123457", "ref2": "badd00d5ecret999", "code": "psychiatrist_zz",
        "contact": "ZZ-SECRET-4711", "project": "PRJ-HIDDEN-77", "risk": "secretfactor",
        "territory": "Slepenciems", "date": "1987-06-05", "year": 1888, "group": "teatime_zz",
    }
    rows = H.clean_rows()
    rows["services"][0].update(family_ref=secret["ref"], service=secret["code"],
                               contact_id=secret["contact"], project=secret["project"],
                               date=H.d(secret["date"]), minutes=4711)
    rows["services"][1].update(child_ref=secret["ref2"])
    rows["families"][1].update(risk_factors=f"alcohol;{secret['risk']}", territory=secret["territory"],
                               exited_on=H.d("1987-06-05"))
    rows["children"][0].update(birth_year=secret["year"])
    rows["group_sessions"][0].update(group_type=secret["group"])
    rows["services"].append(dict(rows["services"][2]))                           # duplicate id
    ctx = H.context(existing_ids={"services": {secret["contact"]}},
                    previous_families=H.previous([(H.F1, "1987-06-05", None, "2014-02-01")]))
    findings = S.validate_delivery(H.tables_from(rows), ctx)
    assert len({f.rule for f in findings}) >= 10
    text = " ".join(repr(f) + str(f.as_dict()) for f in findings)
    values = [str(v) for v in secret.values()] + ["1987", "4711", H.F1, H.F2, H.K21,
                                                  "BAU-S-2014-03-0003"]
    for v in values:
        assert v not in text, v


def test_pandas_default_dtypes_give_the_same_findings():
    """Text as pandas 3's `str` dtype (NaN for empty) and dates in ns work like object/us."""
    rows = H.clean_rows()
    rows["services"][0].update(service="psychiatrist", family_ref=H.ref("f9"))
    rows["services"][1].update(child_ref=H.K11, project="NOPE", date=H.d("2014-04-01"))
    rows["families"][1].update(risk_factors="alcohol;drugs", exit_reason="moved")
    tables = H.tables_from(rows)
    other = {t: df.astype({c: ("str" if df[c].dtype == object else "datetime64[ns]")
                           for c in df.columns if df[c].dtype == object or c in
                           [x.name for x in C.TABLES[t].columns if x.kind == C.DATE]})
             for t, df in tables.items()}
    assert str(other["services"]["service"].dtype) == "str"
    some = ["families", "services", "cross_table"]
    expected = S.validate_delivery_by_suite(tables, H.context(), some)
    assert sorted(f.rule for fs in expected.values() for f in fs) == sorted([
        "services.service.in_set", "services.date.in_month", "families.risk_factors.in_set",
        "families.exit_reason.iff_exited", "services.family_ref.listed",
        "services.child_ref.of_family", "services.project.known"])
    assert S.validate_delivery_by_suite(other, H.context(), some) == expected


def test_input_frames_are_not_changed():
    tables, ctx = H.clean()
    tables["services"].loc[0, "minutes"] = 900
    before = {t: df.copy() for t, df in tables.items()}
    S.validate_delivery(tables, ctx)
    for t, df in tables.items():
        pd.testing.assert_frame_equal(df, before[t])


def test_missing_contract_column_is_a_programming_error():
    tables, ctx = H.clean()
    tables["children"] = tables["children"].drop(columns=["sex"])
    with pytest.raises(ValueError, match="children lacks column"):
        S.validate_delivery(tables, ctx)


def test_unknown_suite_name():
    with pytest.raises(ValueError):
        S.validate_delivery_by_suite(*H.clean(), suites=["nope"])


def test_suite_names():
    assert S.suite_names() == [*C.TABLES, "cross_table"]
    assert {r.suite for r in R.validation_rules()} == set(S.suite_names())


def test_modules_load_without_great_expectations():
    code = ("import sys; import sos_pipeline.validation, sos_pipeline.validation.rules; "
            "assert 'great_expectations' not in sys.modules and 'pandas' not in sys.modules; "
            "from sos_pipeline.validation.suites import DeliveryContext, suite_names, plan; plan(); "
            "assert 'great_expectations' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr



def test_a_deferred_module_is_imported_when_first_used(tmp_path, monkeypatch):
    """What `_gx()` does to scipy.stats and altair while GX is imported, on two modules of our
    own: the one imported inside runs only when something in its stand-in is first used, and
    an import after it gets the real module."""
    (tmp_path / "heavy_mod.py").write_text("import sys\nsys.heavy_runs = getattr(sys, 'heavy_runs', 0) + 1\n"
                                           "def answer():\n    return 42\n")
    (tmp_path / "user_mod.py").write_text("import heavy_mod\n\ndef ask():\n    return heavy_mod.answer()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delattr(sys, "heavy_runs", raising=False)
    try:
        with S.deferred_imports(["heavy_mod", "sys"]):      # sys is imported already: left alone
            import user_mod
        assert not hasattr(sys, "heavy_runs") and "heavy_mod" not in sys.modules
        assert sys.modules["sys"] is sys
        assert user_mod.ask() == 42 and sys.heavy_runs == 1
        import heavy_mod
        assert heavy_mod.answer() == 42 and sys.heavy_runs == 1 and type(heavy_mod) is type(sys)
    finally:
        for name in ("heavy_mod", "user_mod"):
            sys.modules.pop(name, None)

def test_render_markdown_lists_every_rule():
    md = R.render_markdown()
    for r in R.RULES:
        assert f"`{r.id}`" in md
        section = md.split(f"### `{r.id}`", 1)[1].split("### ", 1)[0]
        assert f"**{r.severity}**" in section and f"stage: {r.stage}" in section
        assert "What it means:" in section and "What to do:" in section
    for t in C.TABLES:
        assert f"## Table `{t}`" in md
    for s in R.STAGES:
        assert any(r.stage == s for r in R.RULES)
    assert {r.id for r in R.RULES if r.stage != R.VALIDATION} == {
        "intake.malformed_name", "intake.unknown_centre", "intake.future_month",
        "intake.before_active", "structure.unreadable", "structure.undecodable",
        "structure.missing_table", "structure.missing_column", "structure.value_format",
        "structure.unknown_column", "structure.duplicate_column", "structure.unknown_table",
        "structure.duplicate_table", "privacy.pii_column",
        "privacy.personal_code", "privacy.email", "privacy.phone",
        # reading never loses, shifts or invents a row (docs/validation-rules.md, "How a delivery is read")
        "structure.encoding", "structure.csv_quote", "structure.csv_fields", "structure.error_value",
        "structure.id_scientific", "structure.id_float", "structure.empty_table", "structure.subfolder",
        "structure.ignored_entry", "structure.file_type", "structure.load_failed", "privacy.pii_name"}


def test_time_of_a_1000_row_delivery(capsys):
    tables, ctx = H.large()
    n = sum(len(df) for df in tables.values())
    assert n > 1000
    S.warm_up()
    start = time.perf_counter()
    findings = S.validate_delivery(tables, ctx)
    took = time.perf_counter() - start
    assert findings == []
    with capsys.disabled():
        print(f"\nvalidate_delivery: {n} rows in {took:.2f} s")
    assert took < 10
