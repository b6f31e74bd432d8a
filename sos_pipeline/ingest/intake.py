"""The inbox: name checks, byte-for-byte archive with sha256, the pending queue, quarantine.

Everything here is file work. The archive is the source of truth for what was
received; `.work/pending/` is the queue of archived deliveries waiting to be loaded.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sos_pipeline.config import Paths
from sos_pipeline.findings import ERROR, Finding
from sos_pipeline.reference import Reference

RIGA = ZoneInfo("Europe/Riga")
NAME = re.compile(r"^([A-Z][A-Z0-9]{0,7})_(\d{4})-(\d{2})$")


def today() -> dt.date:
    override = os.environ.get("SOS_TODAY")  # for tests and demos of month-end behaviour
    return dt.date.fromisoformat(override) if override else dt.datetime.now(RIGA).date()


def month_end(month: dt.date) -> dt.date:
    nxt = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def partition_key(centre: str, month: dt.date) -> str:
    """Dagster multi-partition key: dimensions in name order (centre, month)."""
    return f"{centre}|{month:%Y-%m}"


def safe_name(name: str) -> str:
    """A name usable as one folder, whatever the inbox entry was called."""
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]", "_", name)[:80].lstrip(".")
    return cleaned or "unnamed"


@dataclass
class Pending:
    delivery: str
    centre: str
    month: str            # YYYY-MM
    sha256: str
    received_at: str      # ISO timestamp
    archive_path: str     # relative to the data dir
    form: str
    seq: str              # sort key: arrival order

    @property
    def month_date(self) -> dt.date:
        return dt.date.fromisoformat(self.month + "-01")

    @property
    def partition(self) -> str:
        return partition_key(self.centre, self.month_date)


@dataclass
class IntakeOutcome:
    delivery: str
    sha256: str
    status: str           # pending, rejected, unchanged
    reason: str = ""
    centre: str | None = None
    month: str | None = None
    findings: tuple[Finding, ...] = ()


def sha256_of(path: Path) -> str:
    """sha256 of a workbook's bytes, or of a folder as the sorted list of its files' sha256."""
    if path.is_file():
        h = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    lines = [f"{p.relative_to(path).as_posix()}\0{sha256_of(p)}\n"
             for p in sorted(path.rglob("*")) if p.is_file()]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def parse_name(entry: Path) -> tuple[str, str | None, dt.date | None]:
    stem = entry.name[:-5] if entry.is_file() and entry.name.lower().endswith(".xlsx") else entry.name
    m = NAME.match(stem) if (entry.is_dir() or entry.name.lower().endswith(".xlsx")) else None
    if not m or not 1 <= int(m[3]) <= 12:
        return stem, None, None
    return stem, m[1], dt.date(int(m[2]), int(m[3]), 1)


def check_name(entry: Path, ref: Reference) -> tuple[str, str | None, dt.date | None, Finding | None]:
    stem, centre, month = parse_name(entry)
    if centre is None:
        return stem, None, None, Finding(
            "intake.malformed_name", ERROR, None, None,
            "The name is not <CENTRE>_<YYYY-MM> (e.g. BAU_2014-03), as a folder of CSV files or an "
            ".xlsx workbook. Rename it and drop it into the inbox again.", (), 1)
    if centre not in ref.centres:
        return stem, centre, month, Finding(
            "intake.unknown_centre", ERROR, None, None,
            f"Centre code {centre} is not in the reference data (centres.yaml). Check the name, or "
            "add the centre to centres.yaml first.", (), 1)
    if month_end(month) >= today():
        return stem, centre, month, Finding(
            "intake.future_month", ERROR, None, None,
            f"{month:%Y-%m} has not ended yet: a month is delivered after its last day.", (), 1)
    if month < ref.centres[centre].active_from.replace(day=1):
        return stem, centre, month, Finding(
            "intake.before_active", ERROR, None, None,
            f"{month:%Y-%m} is before {centre}'s first expected month "
            f"({ref.centres[centre].active_from:%Y-%m}, centres.yaml).", (), 1)
    return stem, centre, month, None


def _copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(dst.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
    if src.is_dir():
        shutil.copytree(src, tmp)
    else:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def archive(paths: Paths, entry: Path, stem: str, sha: str, received: dt.datetime) -> Path:
    """Copy the delivery byte for byte to archive/<name>/<sha256>/ (once per content)."""
    folder = paths.archive / safe_name(stem) / sha
    target = folder / entry.name
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        _copy(entry, target)
        if sha256_of(target) != sha:
            raise OSError(f"archive copy of {entry.name} does not match its sha256")
        (folder / "received.json").write_text(json.dumps(
            {"delivery": stem, "sha256": sha, "received_at": received.isoformat(),
             "entry": entry.name}, indent=1), encoding="utf-8")
    return target


def remove_from_inbox(entry: Path) -> None:
    if entry.is_dir():
        shutil.rmtree(entry)
    else:
        entry.unlink()


def pending_list(paths: Paths) -> list[Pending]:
    out = []
    for f in sorted(paths.pending.glob("*.json")):
        out.append(Pending(**json.loads(f.read_text(encoding="utf-8"))))
    return sorted(out, key=lambda p: p.seq)


def pending_for(paths: Paths, partition: str) -> list[Pending]:
    return [p for p in pending_list(paths) if p.partition == partition]


def add_pending(paths: Paths, p: Pending) -> None:
    f = paths.pending / f"{p.seq}.json"
    tmp = f.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(p), indent=1), encoding="utf-8")
    os.replace(tmp, f)


def drop_pending(paths: Paths, p: Pending) -> None:
    (paths.pending / f"{p.seq}.json").unlink(missing_ok=True)


def inbox_entries(paths: Paths) -> list[Path]:
    """Deliveries in the inbox, oldest first (then by name): the order they are taken in."""
    entries = [e for e in paths.inbox.iterdir()
               if not e.name.startswith(".") and not e.name.endswith(".partial")]
    return sorted(entries, key=lambda e: (e.stat().st_mtime_ns, e.name))


def delivery_form(entry: Path) -> str:
    return "xlsx" if entry.is_file() else "csv"


def write_quarantine(paths: Paths, delivery: str, sha: str, findings, archived: Path,
                     received_at: str) -> Path:
    """quarantine/<delivery>/: a report a coordinator can act on.

    The delivery itself is not copied here: its one copy is in the archive (the report
    says where), so personal data a centre sent by mistake is not spread further.
    """
    from sos_pipeline.ingest.report import render_rejection

    folder = paths.quarantine / safe_name(delivery)
    folder.mkdir(parents=True, exist_ok=True)
    where = archived.relative_to(paths.data).as_posix()
    (folder / "REPORT.md").write_text(render_rejection(delivery, sha, findings, received_at, where),
                                      encoding="utf-8")
    (folder / "report.json").write_text(json.dumps(
        {"delivery": delivery, "sha256": sha, "received_at": received_at, "archived_at": where,
         "findings": [f.as_dict() for f in findings]}, indent=1, ensure_ascii=False), encoding="utf-8")
    return folder
