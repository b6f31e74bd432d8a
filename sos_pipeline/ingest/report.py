"""Human-readable rejection reports for quarantine/<delivery>/REPORT.md."""
from __future__ import annotations

from sos_pipeline.findings import ERROR, WARNING


def summary(findings) -> str:
    """One line naming the rules broken, for audit.deliveries.reason and the CLI."""
    errs = [f for f in findings if f.severity == ERROR]
    parts = []
    for f in errs[:5]:
        where = "/".join(x for x in (f.table, f.column) if x)
        rows = f" rows {', '.join(map(str, f.rows[:5]))}{'…' if len(f.rows) > 5 else ''}" if f.rows else ""
        parts.append(f"{f.rule}" + (f" ({where}{rows})" if where or rows else ""))
    more = f" and {len(errs) - 5} more" if len(errs) > 5 else ""
    return "; ".join(parts) + more


def render_rejection(delivery: str, sha: str, findings, received_at: str, archived_at: str) -> str:
    errs = [f for f in findings if f.severity == ERROR]
    warns = [f for f in findings if f.severity == WARNING]
    lines = [f"# Delivery {delivery} was rejected", "",
             f"Received {received_at}; sha256 `{sha}`; the file as received is kept in "
             f"`{archived_at}` (inside the data folder).", "",
             "Nothing of this delivery was loaded: the warehouse is exactly as it was before it "
             "arrived. Fix the problems below in the centre's spreadsheet, export again with the "
             "same name and drop it into the inbox. Rule ids are explained in "
             "docs/validation-rules.md.", "",
             "## Errors (each one rejects the delivery)", "",
             "| table | column | rule | rows | source rows | what to do |",
             "|---|---|---|---|---|---|"]
    for f in errs:
        rows = ", ".join(map(str, f.rows[:20])) + (" …" if len(f.rows) > 20 else "")
        lines.append(f"| {f.table or '—'} | {f.column or '—'} | `{f.rule}` | {f.count or len(f.rows)} "
                     f"| {rows or '—'} | {f.message} |")
    if warns:
        lines += ["", "## Warnings (would not have stopped the delivery)", "",
                  "| table | column | rule | rows | source rows | note |", "|---|---|---|---|---|---|"]
        for f in warns:
            rows = ", ".join(map(str, f.rows[:20])) + (" …" if len(f.rows) > 20 else "")
            lines.append(f"| {f.table or '—'} | {f.column or '—'} | `{f.rule}` | "
                         f"{f.count or len(f.rows)} | {rows or '—'} | {f.message} |")
    lines += ["", "Row numbers are those of the spreadsheet or CSV file (the header is row 1). "
              "This report never repeats a cell's value, so it can be shared."]
    return "\n".join(lines) + "\n"
