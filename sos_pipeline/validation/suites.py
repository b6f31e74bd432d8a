"""The validation suites: Great Expectations 1.x run on one parsed delivery.

One ExpectationSuite per contract table checks the rows of that table by themselves
(required, unique, code lists, ranges, dates within the month, ...). One more suite,
"cross_table", checks what needs something outside the row's own table: the other
tables of the delivery, the project register, the centre's other months. It runs on
one stacked frame: every row of every table, with `_row` and, per table, the columns
its cross-table rules look at, named `<table>__<column>` and empty on the other
tables' rows (plus helper columns computed with pandas, e.g. the project's start and
end, or the family's enrolled_on in an earlier month). Expectations there need no row
condition: cells of other tables are empty, and empty cells are never checked.
(GX 1.24 miscounts column-pair expectations that have a row_condition, so the stacked
frame is laid out per table rather than filtered with row conditions.)

What changes from delivery to delivery is either a suite parameter
(`{"$PARAMETER": name}`: the month, the project register, the ids already used) or a
helper column of the cross-table frame (membership in another table, the family's
earlier months), so the context, datasource, assets and suites are built once per
process and reused. great_expectations is imported lazily: importing this module
costs pandas only.

Findings never carry a cell value: GX results hold the failing values
(`partial_unexpected_list`, `unexpected_list`, ...); only the `_row` numbers and the
counts are read from them.
"""
from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable

import pandas as pd

from sos_pipeline import contract as C
from sos_pipeline.findings import Finding
from sos_pipeline.reference import Project
from sos_pipeline.validation import rules as R

CROSS_TABLE = R.CROSS_TABLE
_ROW = "_row"
# Each suite runs first with the cheapest result format (about half the GX overhead of
# COMPLETE); only the expectations that fail are run again with COMPLETE, to get the
# `_row` numbers of every failing row.
QUICK_FORMAT = {"result_format": "BOOLEAN_ONLY"}
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": [_ROW]}
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
    rule: str                       # rule id (rules.RULES)
    suite: str                      # suite it belongs to
    expectation: str                # GX expectation class name
    kwargs: dict = field(default_factory=dict, hash=False, compare=False)
    # Row condition: ("eq"|"ne", column, value) or ("null"|"notnull", column); None: every row.
    condition: tuple | None = None


def xcol(table: str, column: str) -> str:
    """Name of a table's column in the cross-table frame."""
    return f"{table}__{column}"


# Helper columns of the cross-table frame, computed with pandas.
_ACTIVITY, _PSTART, _PEND = "_activity_date", "_project_start", "_project_end"
_PREV_ENROLLED, _EARLIER_EXIT = "_prev_enrolled_on", "_earlier_exit_on"
_HELPER_DATES = (_ACTIVITY, _PSTART, _PEND, _PREV_ENROLLED, _EARLIER_EXIT)
_FAMILY_LISTED, _CHILD_OF_FAMILY = "_family_listed", "_child_of_family"
_SESSION_LISTED, _EVENT_LISTED = "_session_listed", "_event_listed"


def _code_list_regex(codes) -> str:
    alt = "|".join(sorted(codes, key=len, reverse=True))
    item = rf"(?:(?:{alt})\s*)?"
    # Entries separated by ";", spaces around them and empty entries tolerated.
    return rf"^\s*{item}(?:;\s*{item})*$"


def plan() -> list[Check]:
    """Every expectation of every suite, in suite order."""
    checks: list[Check] = []
    add = checks.append
    in_month = set(R.IN_MONTH)
    not_after = set(R.NOT_AFTER_MONTH)
    for t in C.TABLES.values():
        s = t.name
        for col in t.columns:
            if col.required:
                add(Check(f"{s}.{col.name}.required", s, "ExpectColumnValuesToNotBeNull",
                          {"column": col.name}))
            elif (s, col.name) in R.REQUIRED_UNLESS:
                other, code = R.REQUIRED_UNLESS[(s, col.name)]
                add(Check(f"{s}.{col.name}.required", s, "ExpectColumnValuesToNotBeNull",
                          {"column": col.name}, ("ne", other, code)))
        if t.key:
            add(Check(f"{s}.{t.key}.unique", s, "ExpectColumnValuesToBeUnique",
                      {"column": t.key}))
        for col in t.columns:
            if col.codes and col.name != "project":
                if col.kind == C.CODE_LIST:
                    add(Check(f"{s}.{col.name}.in_set", s, "ExpectColumnValuesToMatchRegex",
                              {"column": col.name, "regex": _code_list_regex(col.codes)}))
                else:
                    add(Check(f"{s}.{col.name}.in_set", s, "ExpectColumnValuesToBeInSet",
                              {"column": col.name, "value_set": list(col.codes)}))
            if col.kind in (C.INT, C.NUMBER) and (col.lo is not None or col.hi is not None):
                kw: dict = {"column": col.name}
                if col.lo is not None:
                    kw["min_value"] = col.lo
                    # A "number" column's lower bound is exclusive (trainings.hours > 0).
                    if col.kind == C.NUMBER and col.hi is None:
                        kw["strict_min"] = True
                if col.hi is not None:
                    kw["max_value"] = col.hi
                add(Check(f"{s}.{col.name}.range", s, "ExpectColumnValuesToBeBetween", kw))
            if col.kind == C.YEAR:
                add(Check(f"{s}.{col.name}.range", s, "ExpectColumnValuesToBeBetween",
                          {"column": col.name, "min_value": _p("birth_year_min"),
                           "max_value": _p("birth_year_max")}))
            if (s, col.name) in in_month:
                add(Check(f"{s}.{col.name}.in_month", s, "ExpectColumnValuesToBeBetween",
                          {"column": col.name, "min_value": _p("month_start"),
                           "max_value": _p("month_end")}))
            if (s, col.name) in not_after:
                add(Check(f"{s}.{col.name}.not_after_month", s, "ExpectColumnValuesToBeBetween",
                          {"column": col.name, "max_value": _p("month_end")}))
        if s in R.AFTER_START:
            add(Check(f"{s}.end_date.after_start", s, "ExpectColumnPairValuesAToBeGreaterThanB",
                      {"column_A": "end_date", "column_B": "start_date", "or_equal": True,
                       "ignore_row_if": "either_value_is_missing"}))
        if s == "families":
            rid = "families.exit_reason.iff_exited"
            add(Check(rid, s, "ExpectColumnValuesToNotBeNull", {"column": "exit_reason"},
                      ("notnull", "exited_on")))
            add(Check(rid, s, "ExpectColumnValuesToBeNull", {"column": "exit_reason"},
                      ("null", "exited_on")))

    x = CROSS_TABLE
    for t in C.TABLES.values():
        s = t.name
        if s in C.CENTRE_UNIQUE_IDS:
            idc = C.CENTRE_UNIQUE_IDS[s]
            # The parameter holds the ids of this delivery already used in other months
            # (the used ids that can matter), not the centre's whole history.
            add(Check(f"{s}.{idc}.unique_centre", x, "ExpectColumnValuesToNotBeInSet",
                      {"column": xcol(s, idc), "value_set": _p(f"used_{s}")}))
        if s == "families":
            add(Check("families.enrolled_on.changed", x, "ExpectColumnPairValuesToBeEqual",
                      {"column_A": xcol(s, "enrolled_on"), "column_B": xcol(s, _PREV_ENROLLED),
                       "ignore_row_if": "either_value_is_missing"}))
            add(Check("families.family_ref.after_exit", x, "ExpectColumnValuesToBeNull",
                      {"column": xcol(s, _EARLIER_EXIT)}))
        # Membership in another table: a helper flag (True / False / empty when the
        # reference itself is empty) computed with pandas, expected to be True.
        if s in R.FAMILY_LISTED:
            add(Check(f"{s}.family_ref.listed", x, "ExpectColumnValuesToBeInSet",
                      {"column": xcol(s, _FAMILY_LISTED), "value_set": [True]}))
        if s in R.CHILD_OF_FAMILY:
            add(Check(f"{s}.child_ref.of_family", x, "ExpectColumnValuesToBeInSet",
                      {"column": xcol(s, _CHILD_OF_FAMILY), "value_set": [True]}))
        if s == "group_attendance":
            add(Check("group_attendance.session_id.listed", x, "ExpectColumnValuesToBeInSet",
                      {"column": xcol(s, _SESSION_LISTED), "value_set": [True]}))
        if s == "event_participants":
            add(Check("event_participants.event_id.listed", x, "ExpectColumnValuesToBeInSet",
                      {"column": xcol(s, _EVENT_LISTED), "value_set": [True]}))
        if t.has_project:
            add(Check(f"{s}.project.known", x, "ExpectColumnValuesToBeInSet",
                      {"column": xcol(s, "project"), "value_set": _p("known_projects")}))
            add(Check(f"{s}.project.centre", x, "ExpectColumnValuesToNotBeInSet",
                      {"column": xcol(s, "project"), "value_set": _p("other_centres_projects")}))
            for a, b in ((_ACTIVITY, _PSTART), (_PEND, _ACTIVITY)):
                add(Check(f"{s}.project.window", x, "ExpectColumnPairValuesAToBeGreaterThanB",
                          {"column_A": xcol(s, a), "column_B": xcol(s, b), "or_equal": True,
                           "ignore_row_if": "either_value_is_missing"}))
    unknown = {c.rule for c in checks} - set(R.RULES_BY_ID)
    assert not unknown, f"checks for rules missing from rules.py: {sorted(unknown)}"
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
    cross_columns: list[str]          # columns of the cross-table frame


_STATE: _GX | None = None
_LOCK = threading.RLock()


def _condition(cond: tuple | None):
    if cond is None:
        return None
    from great_expectations.expectations.row_conditions import Column

    op, col, *val = cond
    if op == "eq":
        return Column(col) == val[0]
    if op == "ne":
        return Column(col) != val[0]
    if op == "null":
        return Column(col).is_null()
    if op == "notnull":
        return Column(col).is_not_null()
    raise ValueError(f"unknown condition {op!r}")


def _gx() -> _GX:
    global _STATE
    with _LOCK:
        if _STATE is not None:
            return _STATE
        import great_expectations as gx
        import great_expectations.expectations as gxe
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False,
                                                             metric_calculations=False)
        datasource = context.data_sources.add_pandas(_DATASOURCE)
        batch_definitions, suites, by_key = {}, {}, {}
        checks = plan()
        for name in suite_names():
            asset = datasource.add_dataframe_asset(name)
            batch_definitions[name] = asset.add_batch_definition_whole_dataframe(name)
            expectations = []
            for i, check in enumerate(c for c in checks if c.suite == name):
                key = f"{name}#{i}"
                by_key[key] = check
                kwargs = dict(check.kwargs)
                if check.condition is not None:
                    kwargs["row_condition"] = _condition(check.condition)
                expectations.append(getattr(gxe, check.expectation)(
                    **kwargs, meta={"check": key, "rule": check.rule}))
            suites[name] = context.suites.add(gx.ExpectationSuite(name=name,
                                                                  expectations=expectations))
        expectations_by_key = {e.meta["check"]: e for suite in suites.values()
                               for e in suite.expectations}
        assert set(expectations_by_key) == set(by_key)
        _STATE = _GX(context, batch_definitions, suites, by_key, expectations_by_key,
                     _cross_columns(checks))
        return _STATE


def warm_up() -> None:
    """Import GX and build the suites now rather than on the first delivery."""
    _gx()


# ---------------------------------------------------------------------------------------
# Input preparation (pandas only).

def _to_dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s).dt.normalize()


def _table_frames(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    frames = {}
    for t in C.TABLES.values():
        df = tables.get(t.name)
        cols = [_ROW, *t.column_names]
        if df is None:
            frames[t.name] = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
            continue
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"table {t.name} lacks column(s) {', '.join(missing)}: the parser "
                             "must pass every contract column and _row")
        df = df[cols].reset_index(drop=True)
        if len(df):
            df = df.copy()
            for col in t.columns:
                if col.kind == C.DATE:
                    df[col.name] = _to_dates(df[col.name])
                elif col.kind in (C.INT, C.YEAR):
                    df[col.name] = df[col.name].astype("Int64")
                elif col.kind == C.NUMBER:
                    df[col.name] = df[col.name].astype("float64")
            df[_ROW] = df[_ROW].astype("int64")
        frames[t.name] = df
    return frames


def _ts(d: dt.date) -> pd.Timestamp:
    return pd.Timestamp(d)


def _project_dates(ctx: DeliveryContext) -> tuple[dict, dict]:
    return ({c: _ts(p.start) for c, p in ctx.projects.items()},
            {c: _ts(p.end) for c, p in ctx.projects.items()})


def _history(fam: pd.DataFrame, prev: pd.DataFrame | None) -> tuple[pd.Series, pd.Series]:
    """For each family row: the enrolled_on it must still have, and an earlier exit date.

    _prev_enrolled_on: enrolled_on at the family's latest earlier listing, unless that
    listing shows an exit and this row's enrolled_on is on or after that exit (the family
    re-enrolled). _earlier_exit_on: exit date of an earlier listing with this very
    family_ref and enrolled_on (the family is listed again after it left).
    """
    nat = pd.Series(pd.NaT, index=fam.index, dtype="datetime64[ns]")
    if prev is None or prev.empty or fam.empty:
        return nat, nat.copy()
    prev = prev[["family_ref", "enrolled_on", "exited_on", "month"]].copy()
    for c in ("enrolled_on", "exited_on", "month"):
        prev[c] = _to_dates(prev[c])
    prev = prev[prev["family_ref"].notna()]
    latest = (prev.sort_values("month", kind="stable")
              .drop_duplicates("family_ref", keep="last").set_index("family_ref"))
    prev_enrolled = fam["family_ref"].map(latest["enrolled_on"])
    prev_exit = fam["family_ref"].map(latest["exited_on"])
    reenrolled = prev_exit.notna() & fam["enrolled_on"].notna() & (fam["enrolled_on"] >= prev_exit)
    prev_enrolled = prev_enrolled.where(~reenrolled).astype("datetime64[ns]")

    exits = (prev[prev["exited_on"].notna() & prev["enrolled_on"].notna()]
             .sort_values("exited_on").drop_duplicates(["family_ref", "enrolled_on"]))
    key = fam[["family_ref", "enrolled_on"]].astype({"enrolled_on": "datetime64[ns]"})
    exits = exits.astype({"enrolled_on": "datetime64[ns]"})
    earlier_exit = key.merge(exits[["family_ref", "enrolled_on", "exited_on"]],
                             on=["family_ref", "enrolled_on"], how="left")["exited_on"]
    earlier_exit.index = fam.index
    return prev_enrolled, earlier_exit.astype("datetime64[ns]")


def _flag(ok: pd.Series, present: pd.Series) -> pd.Series:
    """True / False where `present`, else None (nothing to check)."""
    return ok.astype(object).where(present, None)


def _cross_frame(frames: dict[str, pd.DataFrame], ctx: DeliveryContext,
                 columns: list[str]) -> pd.DataFrame:
    """Every row of every table; `columns` (`<table>__<column>`) filled on that table's rows."""
    starts, ends = _project_dates(ctx)
    fam_refs = set(frames["families"]["family_ref"].dropna())
    kids = frames["children"][["family_ref", "child_ref"]].dropna()
    kid_pairs = pd.MultiIndex.from_frame(kids) if len(kids) else None
    sessions = set(frames["group_sessions"]["session_id"].dropna())
    events = set(frames["events"]["event_id"].dropna())
    parts = []
    for t in C.TABLES.values():
        df = frames[t.name]
        if df.empty:
            continue
        src = {c: df[c] for c in t.column_names}
        if t.name == "families":
            src[_PREV_ENROLLED], src[_EARLIER_EXIT] = _history(df, ctx.previous_families)
        if "family_ref" in df:
            src[_FAMILY_LISTED] = _flag(df["family_ref"].isin(fam_refs), df["family_ref"].notna())
        if "child_ref" in df and t.name != "children":
            both = df["family_ref"].notna() & df["child_ref"].notna()
            if kid_pairs is None:
                ok = pd.Series(False, index=df.index)
            else:
                ok = pd.Series(pd.MultiIndex.from_frame(
                    df[["family_ref", "child_ref"]].astype(object)).isin(kid_pairs), index=df.index)
            src[_CHILD_OF_FAMILY] = _flag(ok, both)
        if t.name == "group_attendance":
            src[_SESSION_LISTED] = _flag(df["session_id"].isin(sessions), df["session_id"].notna())
        if t.name == "event_participants":
            src[_EVENT_LISTED] = _flag(df["event_id"].isin(events), df["event_id"].notna())
        if t.has_project:
            src[_ACTIVITY] = df[t.activity_date]
            src[_PSTART] = df["project"].map(starts)
            src[_PEND] = df["project"].map(ends)
        part = {_ROW: df[_ROW]}
        prefix = f"{t.name}__"
        for c in columns:
            if c.startswith(prefix):
                part[c] = src[c[len(prefix):]]
        parts.append(pd.DataFrame(part))
    if not parts:
        return pd.DataFrame(columns=[_ROW, *columns])
    out = pd.concat(parts, ignore_index=True).reindex(columns=[_ROW, *columns])
    for c in columns:
        table, col = c.split("__", 1)
        is_date = col in _HELPER_DATES or (col in C.TABLES[table].column_names
                                           and C.TABLES[table].column(col).kind == C.DATE)
        if is_date:
            out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
        else:
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    out[_ROW] = out[_ROW].astype("int64")
    return out


def _cross_columns(checks: list[Check]) -> list[str]:
    cols: list[str] = []
    for c in checks:
        if c.suite == CROSS_TABLE:
            for k in ("column", "column_A", "column_B"):
                if k in c.kwargs and c.kwargs[k] not in cols:
                    cols.append(c.kwargs[k])
    return cols


def _parameters(frames: dict[str, pd.DataFrame], ctx: DeliveryContext) -> dict:
    params = {
        "month_start": _ts(ctx.month),
        "month_end": _ts(ctx.month_end),
        "birth_year_min": ctx.month.year - 24,
        "birth_year_max": ctx.month.year,
        "known_projects": sorted(ctx.projects),
        "other_centres_projects": sorted(c for c, p in ctx.projects.items()
                                         if ctx.centre not in p.centres),
    }
    for table, idc in C.CENTRE_UNIQUE_IDS.items():
        ids = set(frames[table][idc].dropna())
        used = {str(v) for v in ctx.existing_ids.get(table, ())}
        params[f"used_{table}"] = sorted(ids & used)
    return params


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


def _finding(rule_id: str, rows: set[int], count: int) -> Finding:
    rule = R.rule(rule_id)
    rows_t = tuple(sorted(rows))
    count = max(count, len(rows_t))
    shown = ", ".join(str(r) for r in rows_t[:20]) + (", …" if len(rows_t) > 20 else "")
    message = (f"{rule.table}: {_plural(count, 'row')} failed {rule.id}"
               + (f" (row{'' if len(rows_t) == 1 else 's'} {shown})" if rows_t else "")
               + f". {rule.description}")
    return Finding(rule=rule.id, severity=rule.severity, table=rule.table, column=rule.column,
                   message=message, rows=rows_t, count=count)


def _check_evaluated(state: _GX, suite: str, results) -> None:
    for r in results:
        if _raised(r.exception_info):
            check = state.checks[r.expectation_config.meta["check"]]
            raise ValidationSuiteError(
                f"suite {suite}: the expectation for rule {check.rule} "
                f"({check.expectation}) could not be evaluated", results)


def _findings(state: _GX, suite: str, results) -> list[Finding]:
    """Findings from COMPLETE results: the `_row` numbers and counts, never the values."""
    _check_evaluated(state, suite, results)
    failed: dict[str, tuple[set[int], int]] = {}
    for r in results:
        if r.success:
            continue
        check = state.checks[r.expectation_config.meta["check"]]
        res = r.result or {}
        rows = {int(x[_ROW]) for x in res.get("unexpected_index_list") or ()}
        rows_, count = failed.get(check.rule, (set(), 0))
        rows_ |= rows
        failed[check.rule] = (rows_, max(count, int(res.get("unexpected_count") or 0),
                                         len(rows_)))
    order = {r.id: i for i, r in enumerate(R.RULES)}
    return [_finding(rid, rows, count)
            for rid, (rows, count) in sorted(failed.items(), key=lambda kv: order[kv[0]])]


def _run_suite(state: _GX, name: str, df: pd.DataFrame, params: dict) -> list[Finding]:
    batch = state.batch_definitions[name].get_batch(batch_parameters={"dataframe": df})
    quick = batch.validate(state.suites[name], result_format=QUICK_FORMAT,
                           expectation_parameters=params).results
    _check_evaluated(state, name, quick)
    failing = [r.expectation_config.meta["check"] for r in quick if not r.success]
    detailed = [batch.validate(state.expectations[key], result_format=RESULT_FORMAT,
                               expectation_parameters=params) for key in failing]
    return _findings(state, name, detailed)


# ---------------------------------------------------------------------------------------
# Public entry points.

def validate_delivery_by_suite(tables: dict[str, pd.DataFrame], ctx: DeliveryContext,
                               suites: Iterable[str] | None = None) -> dict[str, list[Finding]]:
    """Run the suites on one parsed delivery: suite name -> its findings (empty = passed).

    `tables` holds each contract table as parsed (a `_row` column with the row number the
    coordinator sees, plus every contract column); an absent table may be missing from
    the dict or be an empty frame. A suite whose frame has no rows passes without
    running. `suites` limits the run to some suites (default: all, in suite_names()
    order); the answer then holds only those.
    """
    names = suite_names()
    if suites is not None:
        wanted = set(suites)
        unknown = wanted - set(names)
        if unknown:
            raise ValueError(f"unknown suite(s): {', '.join(sorted(unknown))}")
        names = [n for n in names if n in wanted]
    frames = _table_frames(tables)
    params = _parameters(frames, ctx)
    state = _gx()
    cross = _cross_frame(frames, ctx, state.cross_columns) if CROSS_TABLE in names else None
    out: dict[str, list[Finding]] = {name: [] for name in names}
    with _LOCK:
        for name in names:
            df = cross if name == CROSS_TABLE else frames[name]
            if df.empty:
                continue
            out[name] = _run_suite(state, name, df, params)
    return out


def validate_delivery(tables: dict[str, pd.DataFrame], ctx: DeliveryContext) -> list[Finding]:
    """All findings of all suites, in suite order (see validate_delivery_by_suite)."""
    return [f for fs in validate_delivery_by_suite(tables, ctx).values() for f in fs]
