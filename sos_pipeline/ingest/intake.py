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
import stat
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sos_pipeline import permissions
from sos_pipeline.config import ConfigError, Paths
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
    """A name usable as one folder, whatever the inbox entry was called.

    Never starts with '.' (hidden, or '..') nor '-' (a folder '-rf' is read as an option
    by `rm *` in a shell).
    """
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]", "_", name)[:80].lstrip(".-")
    return cleaned or "unnamed"


FORMULA_START = ("=", "+", "-", "@")   # what a spreadsheet takes for the start of a formula
_NUMBER = re.compile(r"[+-]?\d+([.,]\d+)?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def defuse(text: str) -> str:
    """Text as it may be stored: control characters (NUL, escape sequences ...) replaced by
    U+FFFD, and a text a spreadsheet would take for a formula (=, +, -, @ first) made plain
    text with a leading apostrophe, as the extract writer does. Numbers stay as they are."""
    text = _CONTROL.sub("\ufffd", text)
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        text = "'" + text
    return text


def shown_name(name: str, limit: int = 100) -> str:
    """A name from outside (inbox entry, file, sheet) as reports, the audit and the terminal
    show it: one printable line, at most `limit` characters, never a formula."""
    name = "".join(ch if ch.isprintable() else "?" for ch in name)
    if len(name) > limit:
        name = name[: limit - 1] + "…"
    return defuse(name)


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
    """sha256 of a workbook's bytes, or of a folder as the sorted list of its files' sha256.

    Links and special files are not part of a delivery (see `links`): never followed or read.
    """
    if not path.is_symlink() and path.is_file():
        h = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    files = sorted(_files(path)) if path.is_dir() and not path.is_symlink() else []
    lines = [f"{p.relative_to(path).as_posix()}\0{sha256_of(p)}\n" for p in files]
    # surrogateescape: a file name that is not valid UTF-8 still hashes (by its bytes)
    return hashlib.sha256("".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


def parse_name(entry: Path) -> tuple[str, str | None, dt.date | None]:
    stem = entry.name[:-5] if entry.is_file() and entry.name.lower().endswith(".xlsx") else entry.name
    m = NAME.match(stem) if (entry.is_dir() or entry.name.lower().endswith(".xlsx")) else None
    if not m or not 1 <= int(m[3]) <= 12:
        return stem, None, None
    return stem, m[1], dt.date(int(m[2]), int(m[3]), 1)


# The name recorded for a delivery whose own name holds personal data: "withheld-" and the first
# 12 hex digits of its sha256 (see `withheld_name`). Only the archive's received.json keeps the name.
WITHHELD = "withheld"


def withheld_name(sha: str) -> str:
    return f"{WITHHELD}-{sha[:12]}"


def check_name(entry: Path, ref: Reference) -> tuple[str, str | None, dt.date | None, Finding | None]:
    """Name, centre and month of an inbox entry, and the finding that rejects it at intake:
    its name, then what it is (no links: see `links`) and its size (see `size_problem`)."""
    from sos_pipeline.ingest.privacy import name_hit, what

    rule = name_hit(entry.name)
    if rule:                    # never repeated anywhere: the caller records it as withheld-<sha>
        return WITHHELD, None, None, Finding(
            "privacy.pii_name", ERROR, None, None,
            f"The delivery's name holds {what(rule)}, so it is not repeated here. A delivery is "
            "named <CENTRE>_<YYYY-MM> (e.g. BAU_2014-03) and nothing else: rename it and drop it "
            "into the inbox again.", (), 1)
    if entry.is_symlink():      # whatever it is called (it may point nowhere): never followed
        name = entry.name[:-5] if entry.name.lower().endswith(".xlsx") else entry.name
        return shown_name(name), None, None, links_problem(entry)
    stem, centre, month = parse_name(entry)
    if centre is None:
        # The name may hold anything (quotes, control characters, a formula): what is recorded
        # and shown is a harmless rendering of it; the archive keeps the entry as it was named.
        return shown_name(stem), None, None, Finding(
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
    return stem, centre, month, links_problem(entry) or size_problem(entry)


# ---------------------------------------------------------------- what an entry is made of
# A delivery is regular files (a workbook, or a folder of them). A symbolic link is never
# followed: it could point anywhere on the machine (another delivery, a system file), and its
# target would be archived and loaded as if the centre had sent it. Links are neither hashed
# nor archived; a delivery holding one is rejected. Other special files (pipes, devices) are
# left out the same way, so that nothing blocks on reading them.

def links(entry: Path) -> list[str]:
    """The symbolic links an inbox entry is or holds (paths relative to the inbox entry)."""
    if entry.is_symlink():
        return ["."]
    if not entry.is_dir():
        return []
    return sorted(p.relative_to(entry).as_posix() for p in entry.rglob("*") if p.is_symlink())


def links_problem(entry: Path) -> Finding | None:
    found = links(entry)
    if not found:
        return None
    what = ("The delivery is a link to somewhere else, not the delivery itself"
            if found == ["."] else
            f"The delivery holds {len(found)} link(s) to files or folders elsewhere instead "
            "of the files themselves")
    return Finding("structure.unreadable", ERROR, None, None,
                   f"{what}. Links are never followed, so nothing of it was read. Copy the files "
                   "themselves into the inbox.", (), 1)


def _files(entry: Path) -> list[Path]:
    """The regular files of an entry: links and special files left out (see above)."""
    if entry.is_symlink():
        return []
    if not entry.is_dir():
        return [entry] if stat.S_ISREG(entry.lstat().st_mode) else []
    return [p for p in entry.rglob("*") if stat.S_ISREG(p.lstat().st_mode)]


def _not_regular(folder: str, names: list[str]) -> set[str]:
    """copytree's `ignore`: links and special files are not copied (nor followed)."""
    out = set()
    for n in names:
        mode = os.lstat(os.path.join(folder, n)).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            out.add(n)
    return out


# ---------------------------------------------------------------- size
# Real centre exports are tens of KB; a federation roll-up of 200,000 contacts is about
# 16 MB of CSV and loads in about 650 MB of memory. Loading takes about 25 times a
# delivery's size in memory, so a limit keeps one delivery from exhausting the machine.
DEFAULT_MAX_DELIVERY_MB = 32
UNPACKED_FACTOR = 4      # a workbook may unpack (unzip) to at most this many times the limit
MB = 1 << 20


def max_delivery_mb() -> float:
    """SOS_MAX_DELIVERY_MB: the most a delivery may hold, in MB (default 32)."""
    raw = os.environ.get("SOS_MAX_DELIVERY_MB", "").strip()
    if not raw:
        return DEFAULT_MAX_DELIVERY_MB
    try:
        value = float(raw)
    except ValueError:
        value = 0
    if not value > 0:
        raise ConfigError(f"SOS_MAX_DELIVERY_MB must be a number of megabytes greater than 0, "
                          f"not {raw!r}.")
    return value


def _unpacked_size(workbook: Path) -> int | None:
    """What a workbook (a zip file) unzips to, from its table of contents; None when it is no
    zip file (the reader reports it as unreadable). The sizes listed are binding: Python's
    zipfile stops at the listed size and fails on anything more."""
    try:
        with zipfile.ZipFile(workbook) as z:
            return sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def size_problem(entry: Path) -> Finding | None:
    """A delivery too big to be read safely, found from file sizes alone, before it is opened."""
    limit = max_delivery_mb()
    files = _files(entry)
    size = sum(f.lstat().st_size for f in files)
    name = shown_name(entry.name)
    advice = ("Real exports are far smaller: check that the right file was exported. If the "
              "delivery is genuine, the pipeline administrator can raise the limit "
              "(SOS_MAX_DELIVERY_MB, see the coordinator's guide).")
    if size > limit * MB:
        return Finding("structure.unreadable", ERROR, None, None,
                       f"{name} is {size / MB:.1f} MB, more than the {limit:g} MB a delivery may "
                       f"hold (SOS_MAX_DELIVERY_MB), so it was not opened. {advice}", (), 1)
    if files == [entry] and entry.suffix.lower() == ".xlsx":
        unpacked = _unpacked_size(entry)
        if unpacked is not None and unpacked > UNPACKED_FACTOR * limit * MB:
            return Finding("structure.unreadable", ERROR, None, None,
                           f"{name} unpacks to {unpacked / MB:.1f} MB, more than the "
                           f"{UNPACKED_FACTOR * limit:g} MB a workbook may unpack to "
                           f"({UNPACKED_FACTOR} times SOS_MAX_DELIVERY_MB), so it was not "
                           f"opened. {advice}", (), 1)
    return None


def _copy(src: Path, dst: Path) -> None:
    # One copy per archive folder (it is per sha256), so a fixed temporary name does: the
    # entry's name plus a suffix could pass the file system's 255-byte limit on names.
    tmp = dst.with_name(".partial")
    if tmp.is_symlink() or tmp.exists():
        shutil.rmtree(tmp) if tmp.is_dir() and not tmp.is_symlink() else tmp.unlink()
    if src.is_symlink() or not (src.is_dir() or src.is_file()):
        tmp.mkdir()                 # a link or special file: nothing of it is copied (see `links`)
    elif src.is_dir():
        # The content only: copytree's default (copy2) would copy each file's mode bits too.
        shutil.copytree(src, tmp, ignore=_not_regular, copy_function=shutil.copyfile)
    else:
        shutil.copyfile(src, tmp)
    # Whatever modes the centre's files had, the archived copy is the owner's only (copytree
    # gives each folder its source's mode): folders 0700, files 0600.
    permissions.private_tree(tmp)
    os.replace(tmp, dst)


def _archive_name(name: str) -> str:
    """The entry's name, or when it is malformed (it may hold control characters, 255 bytes,
    ...) a harmless one with the same suffix; received.json keeps the name it came with."""
    if safe_name(name) == name:
        return name
    suffix = name[-5:] if name.lower().endswith(".xlsx") else ""
    return safe_name(name[: len(name) - len(suffix)]) + suffix


def archive(paths: Paths, entry: Path, stem: str, sha: str, received: dt.datetime) -> Path:
    """Copy the delivery byte for byte to archive/<name>/<sha256>/ (once per content).

    A delivery whose name holds personal data (`stem` is a `withheld_name`) is archived as
    archive/withheld-<sha>/<sha256>/delivery[.xlsx]: the path is recorded in the audit and shown
    in reports, so it must not repeat the name; received.json, inside the archive, keeps it."""
    folder = paths.archive / safe_name(stem) / sha
    if stem.startswith(WITHHELD + "-"):
        target = folder / ("delivery.xlsx" if entry.name.lower().endswith(".xlsx") else "delivery")
    else:
        target = folder / _archive_name(entry.name)
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
    if entry.is_dir() and not entry.is_symlink():     # a link goes, never what it points to
        shutil.rmtree(entry)
    else:
        entry.unlink()


def pending_list(paths: Paths) -> list[Pending]:
    out = []
    for f in sorted(paths.pending.glob("*.json")):
        out.append(Pending(**json.loads(f.read_text(encoding="utf-8"))))
    return sorted(out, key=lambda p: p.seq)


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
    return sorted(entries, key=lambda e: (e.lstat().st_mtime_ns, e.name))


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
