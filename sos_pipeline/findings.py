"""What a check found wrong with a delivery: rule, place, how many; never a value."""
from __future__ import annotations

from dataclasses import dataclass, field

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Finding:
    rule: str                 # stable rule id, e.g. "services.minutes.range" (docs/validation-rules.md)
    severity: str             # ERROR rejects the delivery; WARNING loads it and is reported
    table: str | None         # table (CSV file / sheet) or None for the delivery as a whole
    column: str | None
    message: str              # plain words for the coordinator; must never contain a cell value
    rows: tuple[int, ...] = field(default=())  # source row numbers as the coordinator sees them
    count: int = 0            # how many rows / cells are affected (>= len(rows))

    def as_dict(self) -> dict:
        return {"rule": self.rule, "severity": self.severity, "table": self.table,
                "column": self.column, "count": self.count or len(self.rows),
                "rows": list(self.rows[:50]), "message": self.message}


def errors(findings) -> list[Finding]:
    return [f for f in findings if f.severity == ERROR]
