"""What a loading run records in Dagster for each centre-month it settled.

Accepted: a materialisation of `core_delivery` for the partition (rows per table, a preview
of the month without a single ref, the delivery and its sha256) and a passed `validation`
check. Rejected: a failed `validation` check (severity ERROR, blocking) on the partition, with
the rules each suite found broken and how many rows — never a value, never a finding's own
words (they may quote what a centre sent). The run gets tags with what it did, the numbers
the CLI prints.

Granularity (measured, README "Performance"; `bench/event_log.py`): an event in the run history
costs about 3 ms with the project's event log storage (sos_pipeline/dagster_storage.py; 17 ms
with Dagster's default one), whatever its size. One check per partition carrying every suite's
result costs 2 events per centre-month; one check per suite would cost 12. A first load of
80 centres over six years records 11,520 events (about 40 s) instead of 69,120 (about 4 min).
"""
from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict

import dagster as dg

from sos_pipeline import contract
from sos_pipeline.findings import ERROR, WARNING
from sos_pipeline.validation.rules import CROSS_TABLE
from sos_pipeline.validation.rules import READER_SUITE as STRUCTURE

CORE = dg.AssetKey("core_delivery")
CHECK = "validation"


def suite_order() -> list[str]:
    return [STRUCTURE, *contract.TABLES, CROSS_TABLE]


def _rules(findings, severity: str) -> dict[str, int]:
    """rule (table/column) -> rows affected, for one severity."""
    out: dict[str, int] = defaultdict(int)
    for f in findings:
        if f.severity == severity:
            where = "/".join(x for x in (f.table, f.column) if x)
            where = "" if f.rule.startswith(f"{f.table}.") else where
            out[f"{f.rule}" + (f" ({where})" if where else "")] += f.count or len(f.rows) or 1
    return dict(out)


def _check_metadata(suites: dict[str, list], rejected_before_validation: bool) -> tuple[dict, str]:
    lines = ["| suite | result | errors | warnings | rules (rows) |", "|---|---|---|---|---|"]
    per_suite, failed, n_err, n_warn = {}, [], 0, 0
    for suite in suite_order():
        fs = suites.get(suite)
        if fs is None:
            result = "not run" if rejected_before_validation else "—"
            lines.append(f"| {suite} | {result} | | | |")
            per_suite[suite] = {"result": result}
            continue
        errs, warns = _rules(fs, ERROR), _rules(fs, WARNING)
        e, w = sum(f.severity == ERROR for f in fs), sum(f.severity == WARNING for f in fs)
        n_err, n_warn = n_err + e, n_warn + w
        result = "failed" if e else ("passed with warnings" if w else "passed")
        if e:
            failed.append(suite)
        rules = "; ".join(f"`{r}`: {n}" for r, n in [*errs.items(), *warns.items()])
        lines.append(f"| {suite} | {result} | {e} | {w} | {rules} |")
        per_suite[suite] = {"result": result, "errors": errs, "warnings": warns}
    meta = {"suites": dg.MetadataValue.md("\n".join(lines)),
            "by_suite": dg.MetadataValue.json(per_suite), "errors": n_err, "warnings": n_warn}
    if failed:
        text = f"Rejected: {', '.join(failed)} failed."
    elif n_warn:
        text = f"Passed, with {n_warn} warning(s)."
    else:
        text = "Every suite passed."
    return meta, text


def record_outcomes(context, paths, outcomes) -> None:
    """One materialisation (accepted) and one `validation` evaluation per settled centre-month."""
    previews = _previews(paths, [o for o in outcomes if o.status == "accepted"])
    for o in outcomes:
        not_validated = o.status == "rejected" and set(o.suites) == {STRUCTURE}
        meta, text = _check_metadata(o.suites, not_validated)
        meta = {"delivery": o.delivery, "sha256": o.sha256, "status": o.status, **meta}
        if o.status == "accepted":
            context.log_event(dg.AssetMaterialization(asset_key=CORE, partition=o.partition, metadata={
                "delivery": o.delivery, "sha256": o.sha256, "form": o.form,
                "status": "accepted" + (f" (replaces {o.superseded})" if o.superseded else ""),
                "rows_loaded": dg.MetadataValue.md(_rows_table(o.table_rows)),
                "total_rows_loaded": o.rows, "warnings": meta["warnings"],
                "preview": dg.MetadataValue.md(previews.get(o.partition, "")),
            }))
        context.log_event(dg.AssetCheckEvaluation(
            asset_key=CORE, check_name=CHECK, partition=o.partition, passed=o.status == "accepted",
            severity=dg.AssetCheckSeverity.ERROR if o.status == "rejected" else dg.AssetCheckSeverity.WARN,
            blocking=True, description=text, metadata=meta))


def record_intake_rejections(context, outcomes, partitions: dg.PartitionsDefinition) -> None:
    """A delivery rejected at intake (its name, size, links, ...) fails the check of its centre-month,
    when the name gives one that is a partition."""
    for o in outcomes:
        if o.status != "rejected" or not (o.centre and o.month):
            continue
        key = f"{o.centre}|{o.month}"
        if not partitions.has_partition_key(key):
            continue
        meta, _ = _check_metadata({STRUCTURE: list(o.findings)}, True)
        context.log_event(dg.AssetCheckEvaluation(
            asset_key=CORE, check_name=CHECK, partition=key, passed=False,
            severity=dg.AssetCheckSeverity.ERROR, blocking=True,
            description="Rejected at intake: " + ", ".join(dict.fromkeys(f.rule for f in o.findings)) + ".",
            metadata={"delivery": o.delivery, "sha256": o.sha256, "status": "rejected", **meta}))


def tag_run(context, paths) -> dict[str, int]:
    """Tag the run with what it did (sos/accepted, ...), counted from the audit as the CLI counts."""
    from sos_pipeline.ingest import audit
    from sos_pipeline.warehouse.db import connect

    with connect(paths) as con:
        counts = audit.run_counts(con, run_started(context))
    context.instance.add_run_tags(context.run.run_id, {f"sos/{k}": str(v) for k, v in counts.items()})
    return counts


def _rows_table(rows: dict[str, int]) -> str:
    lines = ["| table | rows |", "|---|---|"]
    lines += [f"| {t} | {rows.get(t, 0)} |" for t in contract.TABLES]
    return "\n".join(lines)


def _previews(paths, accepted) -> dict[str, str]:
    """What each accepted month holds, without a single ref: contacts, families and hours by
    service; families listed by territory type and target group. Two queries for the whole run."""
    from sos_pipeline.warehouse.db import connect

    if not accepted:
        return {}
    keys = sorted({(o.centre, dt.date.fromisoformat(o.month + "-01")) for o in accepted})
    services: dict[tuple, list] = defaultdict(list)
    families: dict[tuple, list] = defaultdict(list)
    with connect(paths) as con:
        con.execute("CREATE OR REPLACE TEMP TABLE _preview_keys (centre VARCHAR, month DATE)")
        con.executemany("INSERT INTO _preview_keys VALUES (?, ?)", [list(k) for k in keys])
        for c, m, s, n, f, h in con.execute(
                "SELECT s.centre, s.month, service, count(*), count(DISTINCT family_ref), "
                "round(sum(minutes) / 60.0, 1) FROM core.services s JOIN _preview_keys USING (centre, month) "
                "GROUP BY ALL ORDER BY s.centre, s.month, count(*) DESC, service").fetchall():
            services[(c, m)].append((s, n, f, h))
        for c, m, a, b, n in con.execute(
                "SELECT f.centre, f.month, territory_type, target_group, count(*) FROM core.families f "
                "JOIN _preview_keys USING (centre, month) GROUP BY ALL ORDER BY ALL").fetchall():
            families[(c, m)].append((a, b, n))
        con.execute("DROP TABLE _preview_keys")
    out = {}
    for c, m in keys:
        lines = ["| service | contacts | families | hours |", "|---|---|---|---|"]
        lines += [f"| {s} | {n} | {f} | {h if h is not None else ''} |" for s, n, f, h in services[(c, m)]]
        lines += ["", "| territory type | target group | families listed |", "|---|---|---|"]
        lines += [f"| {a} | {b} | {n} |" for a, b, n in families[(c, m)]]
        out[f"{c}|{m:%Y-%m}"] = "\n".join(lines)
    return out


def run_started(context) -> dt.datetime:
    """When this run started, on the audit's clock (SOS_NOW sets both)."""
    from sos_pipeline.ingest import audit

    if os.environ.get("SOS_NOW"):
        return audit.now()
    rec = context.instance.get_run_record_by_id(context.run.run_id)
    ts = (rec.start_time if rec and rec.start_time else None) or (rec.create_timestamp.timestamp() if rec else None)
    if ts is None:
        return audit.now()
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).replace(tzinfo=None, microsecond=0)
