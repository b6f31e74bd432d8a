"""The validation suites: Great Expectations 1.x run on one parsed delivery.

One ExpectationSuite per contract table checks the rows of that table by themselves
(required, unique, code lists, ranges, dates within the month, ...). One more suite,
"cross_table", checks what needs something outside the row's own table: the other
tables of the delivery, the project register, the centre's other months.

The cross-table suite runs on one stacked frame: every row of every table, as
`_table`, `_row`, and the columns its rules look at, most of them helper columns
computed by DuckDB (is this row's family listed in families? the project's start
and end, the family's enrolled_on in an earlier month, ...: validation/frames.py). A helper is empty on
the rows of tables the rule does not apply to, and empty cells are never checked, so
one expectation covers a rule for every table it applies to (e.g. `<table>.family_ref.
listed` for five tables); the failing rows' `_table` tells which table's rule they
break. No row conditions there: GX 1.24 miscounts column-pair expectations that have
one, and one expectation per rule family keeps the GX overhead down.

Many deliveries are validated at once: GX's cost is mostly per expectation, not per
row (about 0.5 s per suite run whatever the size), so a refresh stages the rows of every
queued delivery in DuckDB and builds one frame per suite with one query, with `_delivery`
(its index in the batch) beside `_table` and `_row` (building the frames delivery by
delivery in pandas cost 20 times what GX itself did). What differs from delivery to delivery is therefore a helper
column, never a suite parameter: the month's bounds (`_month_start`, `_month_end`), the
birth-year bounds, the table key within its delivery (`_key`), the centre a project row
comes from (`_centre_project`), the ids already used in the centre's other months
(`_centre_id`, prefixed with the delivery). Suite parameters (`{"$PARAMETER": name}`)
hold what is the same for the whole batch (the project register, the ids already
used). The context, datasource, assets and suites are built once per process and
reused. great_expectations is imported lazily: importing this module costs pandas only.
GX runs on the pandas frames DuckDB hands over (`.df()`), not on a SQL datasource: see the
README's performance section for the measurement.
A single delivery is a batch of one.

Findings never carry a cell value: GX results hold the failing values
(`partial_unexpected_list`, `unexpected_list`, ...); only the `_table`/`_row` of the
failing rows and the counts are read from them.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import sys
import threading
import types
from dataclasses import dataclass, field
from typing import Any, Iterable

import pandas as pd

from sos_pipeline import contract as C
from sos_pipeline.findings import Finding
from sos_pipeline.reference import Project
from sos_pipeline.validation import rules as R

CROSS_TABLE = R.CROSS_TABLE
_ROW, _TABLE, _DELIVERY = "_row", "_table", "_delivery"
_MONTH_START, _MONTH_END = "_month_start", "_month_end"
_BY_MIN, _BY_MAX = "_birth_year_min", "_birth_year_max"
_KEY = "_key"                         # the table's key, unique within its delivery
_SEP = "\x1f"                        # joins a delivery's index to a value in helper columns
# Each suite runs first with the cheapest result format (about half the GX overhead of
# COMPLETE); only the expectations that fail are run again with COMPLETE, to get the
# `_table`/`_row` of every failing row.
QUICK_FORMAT = {"result_format": "BOOLEAN_ONLY"}
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": [_DELIVERY, _TABLE, _ROW]}
_DATASOURCE = "sos_deliveries"


@dataclass
class DeliveryContext:
    """What the suites need to know about a delivery besides its tables."""
    delivery: str                           # e.g. "BAU_2014-03"
    centre: str
    month: dt.date                          # first day of the month covered
    month_end: dt.date                      # last day of that month
    projects: dict[str, Project] = field(default_factory=dict)
    # table -> ids of its CENTRE_UNIQUE_IDS column already loaded for this centre, other months
    existing_ids: dict[str, set[str]] = field(default_factory=dict)
    # family_ref, enrolled_on, exited_on, month: this centre's earlier months already loaded
    previous_families: pd.DataFrame | None = None


class ValidationSuiteError(RuntimeError):
    """An expectation could not be evaluated (a bug in the suite or in the input, not in the data).

    The message names the rule only; `.results` holds the raw GX results, which may
    contain cell values and must not be logged as they are.
    """

    def __init__(self, message: str, results: Any = None):
        super().__init__(message)
        self.results = results


def suite_names() -> list[str]:
    """One suite per contract table, then the cross-table suite."""
    return [*C.TABLES, CROSS_TABLE]


# ---------------------------------------------------------------------------------------
# The plan: which expectation checks which rule. Plain data, built without GX.

def _p(name: str) -> dict:
    return {"$PARAMETER": name}


@dataclass(frozen=True)
class Check:
    """One expectation of one suite, and the rule a failing row of each table breaks."""
    rules: tuple[tuple[str, str], ...]   # (table, rule id)
    suite: str
    expectation: str                     # GX expectation class name
    kwargs: dict = field(default_factory=dict, hash=False, compare=False)
    # Row condition: ("ne", column, value) or ("null"|"notnull", column); None: every row.
    condition: tuple | None = None

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(r for _, r in self.rules)


# Helper columns of the cross-table frame.
_CENTRE_ID = "_centre_id"            # "<delivery>\x1f<table>:<id>" of the CENTRE_UNIQUE_IDS column
_CENTRE_PROJECT = "_centre_project"  # "<centre>\x1f<project>" of project tables
_PREV_ENROLLED = "_prev_enrolled_on"  # families: enrolled_on it had in an earlier month
_EARLIER_EXIT = "_earlier_exit_on"    # families: exit of an earlier listing, same enrolment
_FAMILY_LISTED = "_family_listed"     # flags: True / False / empty (not applicable)
_CHILD_OF_FAMILY = "_child_of_family"
_SESSION_LISTED = "_session_listed"
_EVENT_LISTED = "_event_listed"
_ACTIVITY = "_activity_date"           # project tables: the activity's date
_PSTART, _PEND = "_project_start", "_project_end"
_PROJECT_TABLES = tuple(t.name for t in C.TABLES.values() if t.has_project)


def _code_list_regex(codes) -> str:
    alt = "|".join(sorted(codes, key=len, reverse=True))
    item = rf"(?:(?:{alt})\s*)?"
    # Entries separated by ";"; spaces around them and empty entries are tolerated.
    return rf"^\s*{item}(?:;\s*{item})*$"


def _ge(a: str, b: str) -> dict:
    return {"column_A": a, "column_B": b, "or_equal": True, "ignore_row_if": "either_value_is_missing"}


def _table_checks(t: C.Table) -> list[Check]:
    s = t.name
    out: list[Check] = []

    def add(rule, expectation, kwargs, condition=None):
        out.append(Check(((s, rule),), s, expectation, kwargs, condition))

    for col in t.columns:
        if col.required:
            add(f"{s}.{col.name}.required", "ExpectColumnValuesToNotBeNull", {"column": col.name})
        elif (s, col.name) in R.REQUIRED_UNLESS:
            other, code = R.REQUIRED_UNLESS[(s, col.name)]
            add(f"{s}.{col.name}.required", "ExpectColumnValuesToNotBeNull", {"column": col.name},
                ("ne", other, code))
    if t.key:
        add(f"{s}.{t.key}.unique", "ExpectColumnValuesToBeUnique", {"column": _KEY})
    for col in t.columns:
        if col.codes and col.name != "project":
            if col.kind == C.CODE_LIST:
                add(f"{s}.{col.name}.in_set", "ExpectColumnValuesToMatchRegex",
                    {"column": col.name, "regex": _code_list_regex(col.codes)})
            else:
                add(f"{s}.{col.name}.in_set", "ExpectColumnValuesToBeInSet",
                    {"column": col.name, "value_set": list(col.codes)})
        if col.kind in (C.INT, C.NUMBER) and (col.lo is not None or col.hi is not None):
            kw: dict = {"column": col.name}
            if col.lo is not None:
                kw["min_value"] = col.lo
                # A "number" column's lower bound is exclusive (trainings.hours > 0).
                if col.kind == C.NUMBER and col.hi is None:
                    kw["strict_min"] = True
            if col.hi is not None:
                kw["max_value"] = col.hi
            add(f"{s}.{col.name}.range", "ExpectColumnValuesToBeBetween", kw)
        # Bounds that depend on the delivery's month are helper columns of each row:
        # A >= B column pairs, a missing value is not checked (required rules do that).
        if col.kind == C.YEAR:
            add(f"{s}.{col.name}.range", "ExpectColumnPairValuesAToBeGreaterThanB", _ge(col.name, _BY_MIN))
            add(f"{s}.{col.name}.range", "ExpectColumnPairValuesAToBeGreaterThanB", _ge(_BY_MAX, col.name))
        if (s, col.name) in R.IN_MONTH:
            add(f"{s}.{col.name}.in_month", "ExpectColumnPairValuesAToBeGreaterThanB",
                _ge(col.name, _MONTH_START))
            add(f"{s}.{col.name}.in_month", "ExpectColumnPairValuesAToBeGreaterThanB",
                _ge(_MONTH_END, col.name))
        if (s, col.name) in R.NOT_AFTER_MONTH:
            add(f"{s}.{col.name}.not_after_month", "ExpectColumnPairValuesAToBeGreaterThanB",
                _ge(_MONTH_END, col.name))
    if s in R.AFTER_START:
        add(f"{s}.end_date.after_start", "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": "end_date", "column_B": "start_date", "or_equal": True,
             "ignore_row_if": "either_value_is_missing"})
    if s == "families":
        rid = "families.exit_reason.iff_exited"
        add(rid, "ExpectColumnValuesToNotBeNull", {"column": "exit_reason"}, ("notnull", "exited_on"))
        add(rid, "ExpectColumnValuesToBeNull", {"column": "exit_reason"}, ("null", "exited_on"))
    return out


def _cross_checks() -> list[Check]:
    out: list[Check] = []

    def add(tables, rule, expectation, kwargs):
        out.append(Check(tuple((t, rule.format(t=t)) for t in tables), CROSS_TABLE,
                           expectation, kwargs))

    # "<table>:<id>" not among those of this delivery already used in other months.
    out.append(Check(tuple((t, f"{t}.{idc}.unique_centre") for t, idc in C.CENTRE_UNIQUE_IDS.items()),
                     CROSS_TABLE, "ExpectColumnValuesToNotBeInSet",
                     {"column": _CENTRE_ID, "value_set": _p("used_ids")}))
    add(["families"], "families.enrolled_on.changed", "ExpectColumnPairValuesToBeEqual",
        {"column_A": "enrolled_on", "column_B": _PREV_ENROLLED,
         "ignore_row_if": "either_value_is_missing"})
    add(["families"], "families.family_ref.after_exit", "ExpectColumnValuesToBeNull",
        {"column": _EARLIER_EXIT})
    # Membership in another table: a flag expected to be True.
    add(R.FAMILY_LISTED, "{t}.family_ref.listed", "ExpectColumnValuesToBeInSet",
        {"column": _FAMILY_LISTED, "value_set": [True]})
    add(R.CHILD_OF_FAMILY, "{t}.child_ref.of_family", "ExpectColumnValuesToBeInSet",
        {"column": _CHILD_OF_FAMILY, "value_set": [True]})
    add(["group_attendance"], "{t}.session_id.listed", "ExpectColumnValuesToBeInSet",
        {"column": _SESSION_LISTED, "value_set": [True]})
    add(["event_participants"], "{t}.event_id.listed", "ExpectColumnValuesToBeInSet",
        {"column": _EVENT_LISTED, "value_set": [True]})
    add(_PROJECT_TABLES, "{t}.project.known", "ExpectColumnValuesToBeInSet",
        {"column": "project", "value_set": _p("known_projects")})
    add(_PROJECT_TABLES, "{t}.project.centre", "ExpectColumnValuesToNotBeInSet",
        {"column": _CENTRE_PROJECT, "value_set": _p("other_centres_projects")})
    for a, b in ((_ACTIVITY, _PSTART), (_PEND, _ACTIVITY)):
        add(_PROJECT_TABLES, "{t}.project.window", "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": a, "column_B": b, "or_equal": True,
             "ignore_row_if": "either_value_is_missing"})
    return out


def plan() -> list[Check]:
    """Every expectation of every suite, in suite order."""
    checks = [c for t in C.TABLES.values() for c in _table_checks(t)] + _cross_checks()
    for c in checks:
        for _, rid in c.rules:
            rule = R.RULES_BY_ID.get(rid)
            assert rule is not None and rule.suite == c.suite, f"{rid}: not a rule of suite {c.suite}"
    return checks


def expectation_classes() -> list[str]:
    """The GX expectation classes the suites use."""
    return sorted({c.expectation for c in plan()})


# ---------------------------------------------------------------------------------------
# GX objects, built once per process.

@dataclass
class _GX:
    context: Any
    batch_definitions: dict[str, Any]
    suites: dict[str, Any]
    checks: dict[str, Check]          # expectation meta["check"] -> Check
    expectations: dict[str, Any]      # expectation meta["check"] -> the suite's Expectation


_STATE: _GX | None = None
_LOCK = threading.RLock()


def _condition(cond: tuple | None):
    if cond is None:
        return None
    from great_expectations.expectations.row_conditions import Column

    op, col, *val = cond
    if op == "ne":
        return Column(col) != val[0]
    if op == "null":
        return Column(col).is_null()
    if op == "notnull":
        return Column(col).is_not_null()
    raise ValueError(f"unknown condition {op!r}")


# Importing GX imports scipy.stats and altair, for one expectation this project never uses (KL
# divergence, and its chart): about 1.3 s of the 3.5 s GX's import costs in every refresh that
# loads anything. They are deferred while GX is imported (a module GX binds is a stand-in that
# imports the real one the first time anything in it is used) and imported for real by whoever
# imports them afterwards.
_DEFERRED = ("scipy.stats", "altair")


class _Deferred(types.ModuleType):
    """Stands in for a module not imported yet: the first attribute asked for imports it."""

    def __getattr__(self, attr: str):
        real = self.__dict__.get("_real")
        if real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            real = self.__dict__["_real"] = importlib.import_module(self.__name__)
        return getattr(real, attr)


@contextlib.contextmanager
def deferred_imports(names: Iterable[str]):
    """Inside: `import <name>` of each module not imported yet binds a _Deferred stand-in.
    After: the stand-ins leave sys.modules (what was bound to them keeps working)."""
    placed = {n: _Deferred(n) for n in names if n not in sys.modules}
    sys.modules.update(placed)
    try:
        yield
    finally:
        for name, stand_in in placed.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]


def _gx() -> _GX:
    global _STATE
    with _LOCK:
        if _STATE is not None:
            return _STATE
        with deferred_imports(_DEFERRED):
            import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # GX fingerprints every frame under HASH_THRESHOLD bytes (an md5 of pandas' hash of every
        # row) into its batch markers, which nothing here reads: a quarter of GX's time on the
        # suites' frames (0.9 of 3.2 s at 10 x 72). A threshold of 0 fingerprints none.
        pandas_execution_engine.HASH_THRESHOLD = 0

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False,
                                                             metric_calculations=False)
        datasource = context.data_sources.add_pandas(_DATASOURCE)
        _STATE = build_state(context, suite_names(),
                             lambda name: datasource.add_dataframe_asset(name)
                             .add_batch_definition_whole_dataframe(name), _condition)
        return _STATE


def build_state(context, names: Iterable[str], batch_definition, condition) -> _GX:
    """The suites `names` in a GX context: each with `batch_definition(name)` (where its rows come
    from) and one expectation per Check of plan(), its row condition `condition(check.condition)`.
    Also used by bench/gx_engines.py, for the same suites on a SQL datasource."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    batch_definitions, suites, by_key = {}, {}, {}
    checks = plan()
    for name in names:
        batch_definitions[name] = batch_definition(name)
        expectations = []
        for i, check in enumerate(c for c in checks if c.suite == name):
            key = f"{name}#{i}"
            by_key[key] = check
            kwargs = dict(check.kwargs)
            if check.condition is not None:
                kwargs["row_condition"] = condition(check.condition)
            expectations.append(getattr(gxe, check.expectation)(
                **kwargs, meta={"check": key, "rules": list(check.rule_ids)}))
        suites[name] = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
    expectations_by_key = {e.meta["check"]: e for suite in suites.values() for e in suite.expectations}
    assert set(expectations_by_key) == set(by_key)
    return _GX(context, batch_definitions, suites, by_key, expectations_by_key)


def warm_up() -> None:
    """Import GX and build the suites now rather than on the first delivery."""
    _gx()


# ---------------------------------------------------------------------------------------
# Input: one DuckDB query per suite (validation/frames.py).

def _parameters(projects: dict[str, Project], centres: list[str], used: list[str]) -> dict:
    """What is the same for the whole batch: the project register, the ids already used."""
    return {
        "known_projects": sorted(projects),
        "other_centres_projects": sorted(f"{c}{_SEP}{code}" for c in centres
                                         for code, p in projects.items() if c not in p.centres),
        "used_ids": sorted(used),
    }


def suite_inputs(con, projects: dict[str, Project], suites: Iterable[str] | None = None
                 ) -> tuple[dict[str, pd.DataFrame], dict]:
    """The frame of every suite and the suite parameters, from a batch staged on `con`
    (frames.stage, then frames.stage_history or frames.stage_context)."""
    from sos_pipeline.validation import frames as F

    names = _names(suites)
    centres = [r[0] for r in con.execute("SELECT DISTINCT centre FROM v_deliveries ORDER BY 1").fetchall()]
    params = _parameters(projects, centres, F.used_ids(con))
    stacked = {n: F.table_frame(con, n) for n in names if n in C.TABLES}
    if CROSS_TABLE in names:
        stacked[CROSS_TABLE] = F.cross_frame(con)
    return stacked, params


def _names(suites: Iterable[str] | None) -> list[str]:
    names = suite_names()
    if suites is not None:
        wanted = set(suites)
        unknown = wanted - set(names)
        if unknown:
            raise ValueError(f"unknown suite(s): {', '.join(sorted(unknown))}")
        names = [n for n in names if n in wanted]
    return names


# ---------------------------------------------------------------------------------------
# Results -> findings.

def _raised(exception_info) -> bool:
    if not isinstance(exception_info, dict):
        return False
    if exception_info.get("raised_exception"):
        return True
    return any(isinstance(v, dict) and v.get("raised_exception")
               for v in exception_info.values())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _finding(rule_id: str, rows: set[int]) -> Finding:
    rule = R.rule(rule_id)
    rows_t = tuple(sorted(rows))
    shown = ", ".join(str(r) for r in rows_t[:20]) + (", …" if len(rows_t) > 20 else "")
    message = (f"{rule.table}: {_plural(len(rows_t), 'row')} failed {rule.id} "
               f"(row{'' if len(rows_t) == 1 else 's'} {shown}). {rule.description}")
    return Finding(rule=rule.id, severity=rule.severity, table=rule.table, column=rule.column,
                   message=message, rows=rows_t, count=len(rows_t))


def _check_evaluated(state: _GX, suite: str, results) -> None:
    for r in results:
        if _raised(r.exception_info):
            check = state.checks[r.expectation_config.meta["check"]]
            raise ValidationSuiteError(
                f"suite {suite}: the expectation for {', '.join(check.rule_ids)} "
                f"({check.expectation}) could not be evaluated", results)


def _findings(state: _GX, suite: str, results) -> dict[int, list[Finding]]:
    """Findings per delivery from COMPLETE results: the failing rows' `_delivery`/`_table`/`_row`,
    never the values."""
    _check_evaluated(state, suite, results)
    failed: dict[tuple[int, str], set[int]] = {}
    for r in results:
        if r.success:
            continue
        check = state.checks[r.expectation_config.meta["check"]]
        rule_of = dict(check.rules)
        res = r.result or {}
        index = res.get("unexpected_index_list") or ()
        if len(index) != res.get("unexpected_count"):
            raise ValidationSuiteError(f"suite {suite}: {', '.join(check.rule_ids)}: GX did not "
                                       "return the failing rows", results)
        for x in index:
            failed.setdefault((int(x[_DELIVERY]), rule_of[x[_TABLE]]), set()).add(int(x[_ROW]))
    order = {r.id: i for i, r in enumerate(R.RULES)}
    out: dict[int, list[Finding]] = {}
    for d, rid in sorted(failed, key=lambda k: (k[0], order[k[1]])):
        out.setdefault(d, []).append(_finding(rid, failed[(d, rid)]))
    return out


def _run_suite(state: _GX, name: str, df: pd.DataFrame, params: dict) -> dict[int, list[Finding]]:
    batch = state.batch_definitions[name].get_batch(batch_parameters={"dataframe": df})
    quick = batch.validate(state.suites[name], result_format=QUICK_FORMAT,
                           expectation_parameters=params).results
    _check_evaluated(state, name, quick)
    failing = [r.expectation_config.meta["check"] for r in quick if not r.success]
    detailed = [batch.validate(state.expectations[key], result_format=RESULT_FORMAT,
                               expectation_parameters=params) for key in failing]
    # GX's execution engine keeps every batch it loaded, frame and all, for the life of the
    # process: a chunk's frames (hundreds of MB at 80 centres) would stay after validation.
    manager = batch.data.execution_engine.batch_manager
    manager.batch_data_cache.clear()
    manager.reset_batch_cache()
    return _findings(state, name, detailed)


# ---------------------------------------------------------------------------------------
# Public entry points.

def run_suites(stacked: dict[str, pd.DataFrame], params: dict, deliveries: list[int]
               ) -> list[dict[str, list[Finding]]]:
    """Run every suite of `stacked` (suite_inputs) on the rows of these deliveries (their
    `_delivery`), each suite once for all of them: for each delivery, suite -> its findings."""
    state = _gx()
    out: dict[int, dict[str, list[Finding]]] = {d: {name: [] for name in stacked} for d in deliveries}
    wanted = set(deliveries)
    with _LOCK:
        for name, df in stacked.items():
            if len(wanted) < df[_DELIVERY].nunique():
                df = df[df[_DELIVERY].isin(wanted)]
            if not df.empty:
                for d, findings in _run_suite(state, name, df.reset_index(drop=True), params).items():
                    out[d][name] = findings
    return [out[d] for d in deliveries]


def validate_batch(items: list[tuple[dict[str, pd.DataFrame], DeliveryContext]],
                   suites: Iterable[str] | None = None) -> list[dict[str, list[Finding]]]:
    """Run the suites on many parsed deliveries at once: for each, suite name -> its findings.

    Each item is one delivery's tables (as for validate_delivery_by_suite) and its context.
    The rows of all deliveries are staged in an in-memory DuckDB and each suite's frame is one
    query over all of them (validation/frames.py), so GX runs each suite once for the whole
    batch; every finding is traced back to its delivery by `_delivery`. The deliveries must be
    independent of each other: each one's context (ids already used, earlier months) is given,
    not derived from the other items. (The loader stages its batches on the working warehouse
    instead, where each delivery's context comes from core: ingest/batch.py.)
    """
    import duckdb

    from sos_pipeline.validation import frames as F

    names = _names(suites)
    projects: dict[str, Project] = {}
    for _, ctx in items:
        for code, p in ctx.projects.items():
            if projects.setdefault(code, p) != p:
                raise ValueError(f"project {code}: the deliveries of one batch must share one register")
    con = duckdb.connect()
    try:
        F.stage(con, [(tables, ctx.centre, ctx.month, ctx.month_end) for tables, ctx in items], projects)
        F.stage_context(con, [ctx for _, ctx in items])
        stacked, params = suite_inputs(con, projects, names)
    finally:
        con.close()
    return run_suites(stacked, params, list(range(len(items))))


def validate_delivery_by_suite(tables: dict[str, pd.DataFrame], ctx: DeliveryContext,
                               suites: Iterable[str] | None = None) -> dict[str, list[Finding]]:
    """Run the suites on one parsed delivery: suite name -> its findings (empty = passed).

    `tables` holds each contract table as parsed (a `_row` column with the row number the
    coordinator sees, plus every contract column); an absent table may be missing from
    the dict or be an empty frame. A suite whose frame has no rows passes without
    running. `suites` limits the run to some suites (default: all, in suite_names()
    order); the answer then holds only those. A batch of one (validate_batch).
    """
    return validate_batch([(tables, ctx)], suites)[0]


def validate_delivery(tables: dict[str, pd.DataFrame], ctx: DeliveryContext) -> list[Finding]:
    """All findings of all suites, in suite order (see validate_delivery_by_suite)."""
    return [f for fs in validate_delivery_by_suite(tables, ctx).values() for f in fs]
