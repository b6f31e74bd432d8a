"""Benchmark: the validation suites on GX's pandas engine (as the pipeline runs them) against the
same suites on a GX SQL datasource over DuckDB (SQLAlchemy + duckdb_engine, pushdown).

    python bench/gx_engines.py [--centres 10] [--months 72] [--keep DIR] [--repeat 3]
                               [--sql-input table|view] [--workaround cursor|buffer]
                               [--conditions exact|naive]

The optional dependency is not in the lock; install it beside the project's environment, never
into it, and put it on PYTHONPATH (SQLAlchemy is already there, as Dagster's):

    .venv/bin/python -m pip install --no-deps --target /tmp/gxsql/site duckdb-engine==0.17.0
    PYTHONPATH=/tmp/gxsql/site .venv/bin/python bench/gx_engines.py

Set-up (not measured), in a child process: a federation as bench/loading.py makes it (N centres x
M months of CSV deliveries; --keep DIR reuses/keeps them), screened and loaded with
ingest.batch.load_queue, where every validation round's staged tables (frames.stage_typed +
frames.stage_history: v_deliveries, v_projects, v_<table>, v_prev_families, v_used_ids) are
copied to Parquet at the point where the pipeline builds its frames (suites.suite_inputs).

Measured, in this process, on those staged tables restored in one in-memory DuckDB (every round
of every chunk, as the loader validates them):
  - once: importing GX, building the pandas context and suites (suites._gx()), importing
    SQLAlchemy + duckdb_engine, building the SQL context (datasource, assets, same suites);
  - per suite, --repeat times after one warm-up run, engines interleaved; best and spread:
      pandas: its frame (frames.table_frame / cross_frame: one query, .df()) + suites.run_suites
      sql:    the same query materialised (CREATE TABLE AS; --sql-input view: a view, every
              expectation's query then re-runs the joins) + the suite on a SQL table asset, run
              as suites._run_suite does (BOOLEAN_ONLY, then COMPLETE for the failing ones only).
Equivalence (not timed): every expectation of every suite run with COMPLETE results on both
engines, on the good data and on a broken copy of the first round (values injected of several
kinds): same success, same unexpected count, same failing (_delivery, _table, _row); the
findings the pipeline derives from them (suites._findings) are the same, and each injected
row is among the failing rows of the rule it breaks.

Row conditions: the suites use GX's engine-neutral Condition objects (row_conditions.Column), not
condition_parser strings, so the same objects are given to both engines. One does not mean the
same thing: `Column(c) != v` is pandas' `c != v` (true on a missing c) but SQL's `c <> v`
(unknown, the row left out). --conditions exact (default) gives SQL
`(Column(c) != v) | Column(c).is_null()`; naive gives it the pandas object as it is.
GX issue 11579: duckdb_engine's cursor is its connection, and GX reads rows after the
SQLAlchemy connection is released (its ROLLBACK on release empties the pending result). A pool
keeping one connection is not enough. --workaround cursor (default) hands SQLAlchemy a
connection whose every cursor is a DuckDB cursor of its own (con.cursor()); buffer patches
SqlAlchemyExecutionEngine.execute_query to buffer the rows before the connection is released.
GX has no regex for a dialect it does not know (duckdb_engine's is neither psycopg3's PostgreSQL
nor any other it tests for): the dialect is shown to GX as one whose regex is REGEXP_MATCHES(col,
re), which DuckDB has (a search, as pandas' str.contains; the suites' regexes are anchored).

Prints a table per size and one SUMMARY line. Asserts nothing about time (it exits 1 when the
engines disagree).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

STAGED = ("v_deliveries", "v_projects", "v_prev_families", "v_used_ids")


# ---------------------------------------------------------------------------------------
# Set-up: the federation, loaded once with the staged tables of each round kept.

def _stage_dir(root: Path) -> Path:
    return root / "gx_stage"


def capture(root: Path, centres: int, months: int) -> None:
    """Generate (or reuse) the deliveries, load them, keep every round's staged tables."""
    from federation import simulate_federation

    source, ref_dir, _ = simulate_federation(root, centres, months)
    data = root / "data"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(source, data / "inbox")
    shutil.copytree(ref_dir, data / "reference")
    _environment(data)

    from sos_pipeline import config, reference
    from sos_pipeline import contract as C
    from sos_pipeline.ingest.batch import load_queue
    from sos_pipeline.ingest.inbox import screen_inbox
    from sos_pipeline.validation import suites

    out = _stage_dir(root)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    original = suites.suite_inputs
    rounds: list[str] = []

    def keeping(con, projects, names=None):
        d = out / f"round_{len(rounds):03d}"
        d.mkdir()
        for t in (*STAGED, *(f"v_{n}" for n in C.TABLES)):
            con.execute(f"COPY {t} TO '{d / (t + '.parquet')}' (FORMAT parquet)")
        rounds.append(d.name)
        return original(con, projects, names)

    suites.suite_inputs = keeping       # _validate_round looks it up when it runs
    paths = config.paths().ensure()
    ref = reference.load(data)
    screen_inbox(paths, ref)
    result = load_queue(paths, ref)
    suites.suite_inputs = original
    rows = sum(o.rows for o in result.outcomes)
    meta = {"centres": centres, "months": months, "rounds": rounds, "deliveries": len(result.outcomes),
            "accepted": result.count("accepted"), "rows": rows, "chunks": result.chunks,
            "load_seconds": result.seconds}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))


def _environment(data: Path) -> None:
    os.environ.update(SOS_DATA_DIR=str(data), SOS_PSEUDONYM_KEY="bench-key")
    os.environ.pop("SOS_ENV", None)


def restore(con, round_dir: Path) -> None:
    """A round's staged tables, as (non-temporary) tables of the in-memory database."""
    for p in sorted(round_dir.glob("*.parquet")):
        con.execute(f"CREATE OR REPLACE TABLE {p.stem} AS SELECT * FROM read_parquet('{p}')")


# ---------------------------------------------------------------------------------------
# The SQL side: GX objects over the same DuckDB connection.

def _sql_condition(cond, exact: bool):
    """suites._condition, with pandas' meaning of != kept on SQL (a missing value passes it)."""
    from great_expectations.expectations.row_conditions import Column

    from sos_pipeline.validation import suites as S

    if cond is not None and cond[0] == "ne" and exact:
        return (Column(cond[1]) != cond[2]) | Column(cond[1]).is_null()
    return S._condition(cond)


def _duckdb_connection(con, workaround: str):
    """The DBAPI connection SQLAlchemy gets: the bench's own DuckDB connection (GX issue 11579)."""
    from duckdb_engine import ConnectionWrapper, CursorWrapper

    if workaround == "buffer":
        from great_expectations.execution_engine import sqlalchemy_execution_engine as sae

        def execute_query(self, query):
            with self.get_connection() as connection:      # rows read before it is released
                return self._execute_query_with_recovery(connection, query).freeze()()

        sae.SqlAlchemyExecutionEngine.execute_query = execute_query
        return ConnectionWrapper(con)

    class OwnCursors(ConnectionWrapper):
        # duckdb_engine's cursor is the connection itself: the ROLLBACK SQLAlchemy sends when
        # GX releases the connection replaces the result GX has not read yet. A DuckDB cursor
        # (a connection of its own to the same database) keeps each statement's result.
        def cursor(self):
            return CursorWrapper(con.cursor(), self)

    return OwnCursors(con)


def sql_gx(con, names: list[str], workaround: str, exact: bool):
    """The suites of suites._gx() (suites.build_state: same expectations, kwargs, meta), on SQL table
    assets."""
    import duckdb_engine
    import great_expectations as gx
    import sqlalchemy as sa
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from sos_pipeline.validation import suites as S

    # GX builds a regex only for the dialects it knows, by attributes of the dialect. One that
    # DuckDB reads: REGEXP_MATCHES (Dremio's), a search like pandas' str.contains.
    duckdb_engine.Dialect.DremioDialect = True

    dbapi = _duckdb_connection(con, workaround)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    ds = context.data_sources.add_sql("sos_sql", connection_string="duckdb:///:memory:",
                                      kwargs={"creator": lambda: dbapi, "poolclass": sa.pool.StaticPool})
    return S.build_state(context, names,
                         lambda name: ds.add_table_asset(name, table_name=f"gx_{name}")
                         .add_batch_definition_whole_table(name),
                         lambda cond: _sql_condition(cond, exact))


def sql_input(con, name: str, mode: str) -> None:
    """gx_<name>: the rows of the pandas frame of that suite, by the same query (frames.py)."""
    from sos_pipeline import contract as C
    from sos_pipeline.validation import frames as F
    from sos_pipeline.warehouse.db import sql, statements

    kind = "TABLE" if mode == "table" else "VIEW"
    if name in C.TABLES:
        query = F._table_sql(C.TABLES[name])
    else:
        if mode == "table":
            for stmt in statements(sql("validation/family_history")):
                con.execute(stmt)
        else:   # a view cannot read a temporary table: v_history as a table of its own
            for stmt in statements(sql("validation/family_history").replace("TEMP TABLE", "TABLE")):
                con.execute(stmt)
        union = " UNION ALL BY NAME ".join(f"({F._cross_sql(t)})" for t in C.TABLES.values())
        query = f"SELECT {', '.join(F.CROSS_COLUMNS)} FROM ({union})"
    con.execute(f"CREATE OR REPLACE {kind} gx_{name} AS {query}")


def run_suite_sql(state, name: str, params: dict) -> dict:
    """suites._run_suite on a SQL asset: BOOLEAN_ONLY, then COMPLETE for the failing ones."""
    from sos_pipeline.validation import suites as S

    batch = state.batch_definitions[name].get_batch()
    quick = batch.validate(state.suites[name], result_format=S.QUICK_FORMAT,
                           expectation_parameters=params).results
    S._check_evaluated(state, name, quick)
    failing = [r.expectation_config.meta["check"] for r in quick if not r.success]
    detailed = [batch.validate(state.expectations[key], result_format=S.RESULT_FORMAT,
                               expectation_parameters=params) for key in failing]
    return S._findings(state, name, detailed)


# ---------------------------------------------------------------------------------------
# Timing.

def pandas_frame(con, name: str):
    from sos_pipeline import contract as C
    from sos_pipeline.validation import frames as F

    return F.table_frame(con, name) if name in C.TABLES else F.cross_frame(con)


def timed_round(con, sql_state, names, params, deliveries, repeat: int, mode: str) -> dict:
    """name -> engine -> list of (input s, GX s), warm-up run first, engines interleaved."""
    from sos_pipeline.validation import suites as S

    out: dict = {n: {"pandas": [], "sql": []} for n in names}
    for rep in range(repeat + 1):
        for name in names:
            t0 = time.perf_counter()
            df = pandas_frame(con, name)
            t1 = time.perf_counter()
            S.run_suites({name: df}, params, deliveries)
            t2 = time.perf_counter()
            del df
            sql_input(con, name, mode)
            t3 = time.perf_counter()
            run_suite_sql(sql_state, name, params)
            t4 = time.perf_counter()
            if rep:                     # the first run is the warm-up
                out[name]["pandas"].append((t1 - t0, t2 - t1))
                out[name]["sql"].append((t3 - t2, t4 - t3))
    return out


# ---------------------------------------------------------------------------------------
# Equivalence.

def _outcome(results) -> dict:
    """check key -> (success, unexpected count, failing (_delivery, _table, _row)), or an error."""
    from sos_pipeline.validation import suites as S

    out = {}
    for r in results:
        key = r.expectation_config.meta["check"]
        if S._raised(r.exception_info):
            out[key] = ("raised", None, frozenset())
            continue
        res = r.result or {}
        rows = frozenset((int(x[S._DELIVERY]), str(x[S._TABLE]), int(x[S._ROW]))
                         for x in res.get("unexpected_index_list") or ())
        out[key] = (bool(r.success), res.get("unexpected_count"), rows)
    return out


def compare(con, pandas_state, sql_state, names, params, mode: str) -> tuple[list, dict, set]:
    """Every expectation on both engines with COMPLETE results: the differences, the findings of
    each engine (suite -> delivery -> rule -> rows), the expectation classes that failed on both."""
    from sos_pipeline.validation import suites as S

    diffs, findings, failed = [], {"pandas": {}, "sql": {}}, set()
    for name in names:
        df = pandas_frame(con, name)
        batch = pandas_state.batch_definitions[name].get_batch(batch_parameters={"dataframe": df})
        p = batch.validate(pandas_state.suites[name], result_format=S.RESULT_FORMAT,
                           expectation_parameters=params).results
        manager = batch.data.execution_engine.batch_manager
        manager.batch_data_cache.clear()
        manager.reset_batch_cache()
        sql_input(con, name, mode)
        s = sql_state.batch_definitions[name].get_batch().validate(
            sql_state.suites[name], result_format=S.RESULT_FORMAT, expectation_parameters=params).results
        po, so = _outcome(p), _outcome(s)
        for key, check in ((k, c) for k, c in pandas_state.checks.items() if c.suite == name):
            if po[key] != so[key]:
                diffs.append((key, check, po[key][:2], so[key][:2], len(po[key][2] ^ so[key][2])))
            elif po[key][0] is False:
                failed.add(check.expectation)
        for engine, state, results in (("pandas", pandas_state, p), ("sql", sql_state, s)):
            try:
                by_delivery = S._findings(state, name, [r for r in results if not r.success])
            except S.ValidationSuiteError as exc:
                by_delivery = {"error": str(exc)}
            findings[engine][name] = {d: {f.rule: f.rows for f in fs} if isinstance(fs, list) else fs
                                      for d, fs in by_delivery.items()}
    return diffs, findings, failed


# Broken copy: (rule it breaks, table, which rows qualify, the change). The first qualifying row
# after `skip` (by _delivery, _row) is changed (`SET ...`, or a statement with that row's
# _delivery and _row as parameters); it must be among the failing rows of the rule.
_SEVERAL = "_delivery IN (SELECT _delivery FROM v_{t} GROUP BY 1 HAVING count(*) > 1)"
_PREV = ("EXISTS (SELECT 1 FROM v_prev_families p WHERE p._delivery = v_families._delivery "
         "AND p.family_ref = v_families.family_ref)")
BREAKS = [
    ("families.territory.required", "families", "TRUE", "territory = NULL", 0),
    ("children.sex.in_set", "children", "TRUE", "sex = 'X'", 0),
    ("families.risk_factors.in_set", "families", "TRUE", "risk_factors = 'alcohol; nonsense'", 1),
    ("trainings.training_id.unique", "trainings", _SEVERAL.format(t="trainings"),
     "training_id = (SELECT min(y.training_id) FROM v_trainings y WHERE y._delivery = v_trainings._delivery "
     "AND y.training_id <> v_trainings.training_id)", 0),
    ("services.minutes.range", "services", "minutes IS NOT NULL", "minutes = 9999", 0),
    ("trainings.hours.range", "trainings", "TRUE", "hours = 0", 1),
    ("children.birth_year.range", "children", "TRUE", "birth_year = 1900", 1),
    ("events.end_date.after_start", "events", "TRUE", "end_date = start_date - 3", 0),
    ("services.date.in_month", "services", "TRUE", "date = date + 40", 1),
    # service missing: the minutes are then required too (pandas' != on a missing value)
    ("services.minutes.required", "services", "TRUE", "service = NULL, minutes = NULL", 2),
    ("families.exit_reason.iff_exited", "families", "exited_on IS NOT NULL", "exit_reason = NULL", 0),
    ("families.exit_reason.iff_exited", "families", "exited_on IS NULL", "exit_reason = 'moved'", 2),
    ("children.family_ref.listed", "children", "TRUE", "family_ref = 'no-such-family'", 2),
    ("services.project.known", "services", "project IS NOT NULL", "project = 'NOPE'", 3),
    ("families.enrolled_on.changed", "families", _PREV, "enrolled_on = enrolled_on - 1", 0),
    # listed again after an exit, same enrolment: an earlier listing with an exit is added
    ("families.family_ref.after_exit", "families", f"NOT {_PREV} AND exited_on IS NULL",
     "INSERT INTO v_prev_families SELECT _delivery, family_ref, enrolled_on, enrolled_on + 1, "
     "DATE '2000-01-01', -1 FROM v_families WHERE _delivery = ? AND _row = ?", 0),
    # an id this centre already used in another month
    ("services.contact_id.unique_centre", "services", "TRUE",
     "INSERT INTO v_used_ids SELECT _delivery, 'services', contact_id FROM v_services "
     "WHERE _delivery = ? AND _row = ?", 5),
]


def break_data(con) -> list[tuple[str, str, int, int]]:
    """Apply BREAKS to the restored tables: (rule, table, _delivery, _row) of each change."""
    done = []
    for rule, table, where, change, skip in BREAKS:
        row = con.execute(f"SELECT _delivery, _row FROM v_{table} WHERE {where} ORDER BY _delivery, _row "
                          f"LIMIT 1 OFFSET {skip}").fetchone()
        if row is None:     # a small federation (4 x 24 has one training a delivery)
            print(f"  (no row of {table} to break for {rule} in this federation: not tried)")
            continue
        if change.startswith("INSERT"):
            con.execute(change, list(row))
        else:
            con.execute(f"UPDATE v_{table} SET {change} WHERE _delivery = ? AND _row = ?", list(row))
        done.append((rule, table, int(row[0]), int(row[1])))
    return done


# ---------------------------------------------------------------------------------------

def _fmt(xs: list[float]) -> str:
    return f"{min(xs):7.3f} ±{max(xs) - min(xs):5.3f}"


def measure(root: Path, args) -> int:
    meta = json.loads((_stage_dir(root) / "meta.json").read_text())
    _environment(root / "data")
    t = time.perf_counter()
    from sos_pipeline.validation import suites as S
    with S.deferred_imports(S._DEFERRED):
        import great_expectations  # noqa: F401
    t_import = time.perf_counter() - t
    t = time.perf_counter()
    pandas_state = S._gx()
    t_pandas_ctx = time.perf_counter() - t
    t = time.perf_counter()
    import duckdb
    import duckdb_engine
    import sqlalchemy
    t_sql_import = time.perf_counter() - t

    from sos_pipeline import reference
    from sos_pipeline.validation import frames as F

    ref = reference.load(root / "data")
    names = S.suite_names()
    con = duckdb.connect()
    rounds = [_stage_dir(root) / r for r in meta["rounds"]]
    restore(con, rounds[0])
    for name in names:                  # the tables must exist when the assets are added
        sql_input(con, name, args.sql_input)
    t = time.perf_counter()
    sql_state = sql_gx(con, names, args.workaround, args.conditions == "exact")
    t_sql_ctx = time.perf_counter() - t
    size = f"{meta['centres']}x{meta['months']}"
    print(f"{size}: {meta['deliveries']} deliveries ({meta['accepted']} accepted), {meta['rows']:,} rows, "
          f"{meta['chunks']} chunks, {len(rounds)} validation rounds; GX {great_expectations.__version__}, "
          f"SQLAlchemy {sqlalchemy.__version__}, duckdb {duckdb.__version__}, duckdb_engine "
          f"{duckdb_engine.__version__}; sql input: {args.sql_input}, 11579 workaround: {args.workaround}, "
          f"conditions: {args.conditions}")
    print(f"once: import GX {t_import:.2f} s; pandas context + suites {t_pandas_ctx:.2f} s; "
          f"import SQLAlchemy + duckdb_engine {t_sql_import:.2f} s; SQL context + assets + suites {t_sql_ctx:.2f} s")

    # Timing, round by round (the rounds of every chunk, as the loader validates them).
    per: dict = {n: {"pandas": [[0.0, 0.0] for _ in range(args.repeat)],
                     "sql": [[0.0, 0.0] for _ in range(args.repeat)]} for n in names}
    for i, rd in enumerate(rounds):
        if i:
            restore(con, rd)
        deliveries = [r[0] for r in con.execute("SELECT _delivery FROM v_deliveries ORDER BY 1").fetchall()]
        centres = [r[0] for r in con.execute("SELECT DISTINCT centre FROM v_deliveries ORDER BY 1").fetchall()]
        params = S._parameters(ref.projects, centres, F.used_ids(con))
        got = timed_round(con, sql_state, names, params, deliveries, args.repeat, args.sql_input)
        for n in names:
            for e in ("pandas", "sql"):
                for k, (a, b) in enumerate(got[n][e]):
                    per[n][e][k][0] += a
                    per[n][e][k][1] += b
    print(f"\nseconds, summed over the {len(rounds)} round(s); best of {args.repeat} (± spread = worst - best) "
          "after a warm-up run")
    head = f"{'suite':<20} {'pandas frame':>14} {'pandas GX':>14} {'pandas total':>14} " \
           f"{'sql input':>14} {'sql GX':>14} {'sql total':>14} {'sql/pandas':>10}"
    print(head)
    print("-" * len(head))
    totals = {"pandas": [0.0] * args.repeat, "sql": [0.0] * args.repeat}
    for n in names:
        p, s = per[n]["pandas"], per[n]["sql"]
        pt, st = [a + b for a, b in p], [a + b for a, b in s]
        for k in range(args.repeat):
            totals["pandas"][k] += pt[k]
            totals["sql"][k] += st[k]
        print(f"{n:<20} {_fmt([a for a, _ in p])} {_fmt([b for _, b in p])} {_fmt(pt)} "
              f"{_fmt([a for a, _ in s])} {_fmt([b for _, b in s])} {_fmt(st)} {min(st) / min(pt):9.2f}x")
    bp, bs = min(totals["pandas"]), min(totals["sql"])
    print(f"{'total (per repeat)':<20} {'':>14} {'':>14} {_fmt(totals['pandas'])} {'':>14} {'':>14} "
          f"{_fmt(totals['sql'])} {bs / bp:9.2f}x")

    # Equivalence on the good data (every round) and on a broken copy of the first.
    good = broken_failures = 0
    print("\nequivalence, every expectation (COMPLETE results: success, unexpected count, failing rows)")
    for i, rd in enumerate(rounds):
        restore(con, rd)
        centres = [r[0] for r in con.execute("SELECT DISTINCT centre FROM v_deliveries ORDER BY 1").fetchall()]
        params = S._parameters(ref.projects, centres, F.used_ids(con))
        diffs, findings, _ = compare(con, pandas_state, sql_state, names, params, args.sql_input)
        n_fail = sum(len(fs) for fs in findings["pandas"].values())
        print(f"  good data, {rd.name}: {len(pandas_state.checks) - len(diffs)}/{len(pandas_state.checks)} "
              f"expectations agree; findings equal: {findings['pandas'] == findings['sql']} "
              f"({n_fail} delivery-suite pairs with findings)")
        good += _show(diffs) + (findings["pandas"] != findings["sql"])
    restore(con, rounds[0])
    broken = break_data(con)
    centres = [r[0] for r in con.execute("SELECT DISTINCT centre FROM v_deliveries ORDER BY 1").fetchall()]
    params = S._parameters(ref.projects, centres, F.used_ids(con))
    diffs, findings, failed = compare(con, pandas_state, sql_state, names, params, args.sql_input)
    print(f"  broken copy of {rounds[0].name} ({len(broken)} values changed): "
          f"{len(pandas_state.checks) - len(diffs)}/{len(pandas_state.checks)} expectations agree; "
          f"findings equal: {findings['pandas'] == findings['sql']}")
    broken_failures += _show(diffs) + (findings["pandas"] != findings["sql"])
    print(f"  {'rule broken':<36} {'changed row':>14}  pandas rows / sql rows of that rule in the delivery")
    for rule, table, d, row in broken:
        suite = S.R.rule(rule).suite
        got = [findings[e].get(suite, {}).get(d, {}).get(rule, ()) for e in ("pandas", "sql")]
        ok = all(row in g for g in got)
        broken_failures += not ok
        print(f"  {rule:<36} {f'{d}/{table}:{row}':>14}  {list(got[0])[:6]} / {list(got[1])[:6]}"
              f"{'' if ok else '  <- MISSING'}")
    print(f"  expectation classes failing alike on both engines: {', '.join(sorted(failed))} "
          f"({len(failed)} of {len(S.expectation_classes())})")
    deliveries = [r[0] for r in con.execute("SELECT _delivery FROM v_deliveries ORDER BY 1").fetchall()]
    t = time.perf_counter()
    for name in names:
        S.run_suites({name: pandas_frame(con, name)}, params, deliveries)
    tp = time.perf_counter() - t
    t = time.perf_counter()
    for name in names:
        sql_input(con, name, args.sql_input)
        run_suite_sql(sql_state, name, params)
    ts = time.perf_counter() - t
    print(f"  one run of every suite on the broken copy (with the COMPLETE re-runs): pandas {tp:.2f} s, "
          f"sql {ts:.2f} s")

    print(f"\nSUMMARY {size}: suites over {len(rounds)} round(s), best of {args.repeat}: pandas {bp:.2f} s "
          f"(frames + GX), sql {bs:.2f} s ({args.sql_input} + GX), sql/pandas {bs / bp:.2f}x; "
          f"engines {'agree' if not good else 'DISAGREE'} on the good data, "
          f"{'agree' if not broken_failures else 'DISAGREE'} on the broken copy")
    return 1 if good or broken_failures else 0


def _show(diffs) -> int:
    for key, check, p, s, n in diffs:
        print(f"    DIFFERS {key} {check.expectation} {check.rule_ids}: pandas {p}, sql {s}, "
              f"{n} rows differ")
    return len(diffs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--centres", type=int, default=10)
    ap.add_argument("--months", type=int, default=72)
    ap.add_argument("--keep", type=Path, help="reuse/keep the generated deliveries (and staged rounds) here")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sql-input", choices=("table", "view"), default="table")
    ap.add_argument("--workaround", choices=("cursor", "buffer"), default="cursor")
    ap.add_argument("--conditions", choices=("exact", "naive"), default="exact")
    ap.add_argument("--capture-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="sos-gx-engines-"))
    if args.capture_only:
        capture(root, args.centres, args.months)
        return 0
    meta = _stage_dir(root) / "meta.json"
    if meta.is_file():
        m = json.loads(meta.read_text())
        if (m["centres"], m["months"]) != (args.centres, args.months):
            print(f"note: {root} holds {m['centres']}x{m['months']}; that is what is measured")
    else:
        t = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--capture-only", "--keep", str(root),
                        "--centres", str(args.centres), "--months", str(args.months)], check=True)
        print(f"set-up (generate, load, keep the staged rounds): {time.perf_counter() - t:.0f} s")
    try:
        return measure(root, args)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
