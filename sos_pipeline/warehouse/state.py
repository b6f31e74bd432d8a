"""What a build was made from, so a refresh with nothing new does no work.

A fingerprint is a sha256 over everything a step's result depends on:

- indicators: every delivery's centre, month, sha256, status and arrival (the audit), and the
  context: the reference data (centres.yaml, projects.yaml as read), the package's SQL,
  catalogue, labels and Python code, and today's date (periods in progress and due days depend
  on it); the context alone is kept too (step `indicators_context`);
- publish: the indicators' fingerprint and the state of the audit (every row of
  audit.deliveries and how many findings), since analysts read the audit too.

`derived.build_state` keeps the fingerprint each step last completed with. The indicator
assets skip their work when the fingerprint is the one `indicator_values` last stored (it is
stored only once every family is built, so a run killed halfway rebuilds them all); the
publish step skips when the published file already carries the publish fingerprint (it is
written into the working file just before the copy, so only a completed publish has it).
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

INDICATORS, PUBLISH = "indicators", "publish"


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """sha256 of the package's code, SQL, catalogue and labels (fixed for a process); the shipped
    reference data is left out (it is hashed as reference data, whichever copy is used)."""
    from sos_pipeline.warehouse.db import SQL_DIR

    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parents[1]
    for root, pattern in ((pkg, "*.py"), (pkg, "*.yaml"), (SQL_DIR, "*.sql")):
        for f in sorted(root.rglob(pattern)):
            if "reference" not in f.relative_to(root).parts:
                h.update(f"{root.name}/{f.relative_to(root).as_posix()}".encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _reference_digest(data_dir: Path) -> str:
    from sos_pipeline.reference import _file

    h = hashlib.sha256()
    for name in ("centres.yaml", "projects.yaml"):
        h.update(_file(name, data_dir).read_bytes())
    return h.hexdigest()


def context_fingerprint(data_dir: Path) -> str:
    """What the indicators depend on besides the deliveries: code, reference data and the day. When
    it is the one the last build stored, only the periods changed deliveries can touch are
    recomputed (sos_pipeline/indicators/incremental.py)."""
    from sos_pipeline.ingest.intake import today

    h = hashlib.sha256()
    h.update(code_digest().encode())
    h.update(_reference_digest(data_dir).encode())
    h.update(today().isoformat().encode())
    return h.hexdigest()


def indicators_fingerprint(con, data_dir: Path, context: str | None = None) -> str:
    h = hashlib.sha256((context or context_fingerprint(data_dir)).encode())
    # Every delivery's status, not only the accepted ones: reporting.completeness shows rejected
    # months and when each month arrived.
    for row in con.execute("SELECT centre, month, sha256, status, received_at FROM audit.deliveries "
                           "ORDER BY ALL").fetchall():
        h.update(repr(row).encode())
    return h.hexdigest()


def publish_fingerprint(con, data_dir: Path) -> str:
    h = hashlib.sha256(indicators_fingerprint(con, data_dir).encode())
    h.update(repr(con.execute(
        "SELECT count(*), max(processed_at), sum(hash(delivery, sha256, status, processed_at)) "
        "FROM audit.deliveries").fetchall()).encode())
    h.update(repr(con.execute("SELECT count(*), max(recorded_at) FROM audit.findings").fetchall()).encode())
    return h.hexdigest()


def stored(con, step: str) -> str | None:
    try:
        rows = con.execute("SELECT fingerprint FROM derived.build_state WHERE step = ?", [step]).fetchall()
    except Exception:  # noqa: BLE001 - a warehouse from before the table existed
        return None
    return rows[0][0] if rows else None


def store(con, step: str, fingerprint: str) -> None:
    from sos_pipeline.ingest.audit import now

    con.execute("INSERT OR REPLACE INTO derived.build_state VALUES (?, ?, ?)", [step, fingerprint, now()])

