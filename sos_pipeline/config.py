"""Where things are, and the pseudonym key (warehouse.md, "Folders")."""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_REFERENCE = Path(__file__).resolve().parent / "reference"

# The demo key: fine for the sample data, never for real deliveries.
DEMO_KEY = "sos-pipeline-demo-key-not-for-real-data"


class ConfigError(RuntimeError):
    """The installation is not set up so that the pipeline may run."""


DEFAULT_DUCKDB_MEMORY = "1200MB"
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Paths:
    data: Path
    duckdb_memory: str = DEFAULT_DUCKDB_MEMORY     # memory_limit of the writing connections

    @property
    def inbox(self) -> Path: return self.data / "inbox"
    @property
    def archive(self) -> Path: return self.data / "archive"
    @property
    def quarantine(self) -> Path: return self.data / "quarantine"
    @property
    def reference(self) -> Path: return self.data / "reference"
    @property
    def reports(self) -> Path: return self.data / "reports"
    @property
    def published(self) -> Path: return self.data / "warehouse.duckdb"
    @property
    def parquet(self) -> Path: return self.data / "parquet"
    @property
    def work(self) -> Path: return self.data / ".work"
    @property
    def working_db(self) -> Path: return self.work / "warehouse.duckdb"
    @property
    def pending(self) -> Path: return self.work / "pending"
    @property
    def lock(self) -> Path: return self.work / "writer.lock"

    def ensure(self) -> "Paths":
        """The folders exist, readable by their owner only (sos_pipeline/permissions.py): this
        process creates 0600 files and 0700 folders from here on; SOS_SHARE_GROUP is checked."""
        from sos_pipeline import permissions

        permissions.check()
        for p in (self.inbox, self.archive, self.quarantine, self.reports, self.pending):
            p.mkdir(parents=True, exist_ok=True)
        permissions.secure_data_folder(self)
        return self


def data_dir() -> Path:
    return Path(os.environ.get("SOS_DATA_DIR") or REPO_ROOT / "data").resolve()


def paths() -> Paths:
    return Paths(data_dir(), duckdb_memory())


def duckdb_memory() -> str:
    """SOS_DUCKDB_MEMORY: the most memory DuckDB may take on the working warehouse (its
    memory_limit, e.g. 1500MB or 4GB; beyond it, it spills to disk). DuckDB's own default is 80 %
    of the machine's memory: a full indicator build at 80 centres x 72 months took 2.4 GB."""
    raw = os.environ.get("SOS_DUCKDB_MEMORY", "").strip()
    if not raw:
        return DEFAULT_DUCKDB_MEMORY
    if not _MEMORY.match(raw):
        raise ConfigError(f"SOS_DUCKDB_MEMORY={raw!r}: give an amount such as 1500MB or 4GB.")
    return raw.replace(" ", "")


def _positive(name: str, default: int, unit: str) -> int:
    """A whole number above 0 from the environment variable `name` (`default` when unset)."""
    raw = os.environ.get(name, "").strip()
    try:
        n = int(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number of {unit}.") from None
    if n < 1:
        raise ConfigError(f"{name}={raw!r}: give a number of {unit} above 0.")
    return n


def chunk_rows() -> int:
    """SOS_CHUNK_ROWS: how many rows loading reads and validates at once (memory against speed)."""
    return _positive("SOS_CHUNK_ROWS", 250_000, "rows")


def extract_workers() -> int:
    """SOS_EXTRACT_WORKERS: how many processes build funder extracts at once, one project each
    (default 2; 1 builds them one after the other in the run's own process)."""
    return _positive("SOS_EXTRACT_WORKERS", 2, "processes")


_warned = False


def pseudonym_key() -> bytes:
    """The HMAC key for refs. Unset: the demo key, said loudly; in production: refuse."""
    global _warned
    key = os.environ.get("SOS_PSEUDONYM_KEY", "")
    if key:
        return key.encode("utf-8")
    if os.environ.get("SOS_ENV", "").lower() == "production":
        raise ConfigError(
            "SOS_ENV=production but SOS_PSEUDONYM_KEY is not set: refusing to run. "
            "Set SOS_PSEUDONYM_KEY to the organisation's secret (never store it with the warehouse).")
    if not _warned:
        print("WARNING: SOS_PSEUDONYM_KEY is not set; using the DEMO pseudonym key. "
              "Pseudonyms made with it are NOT secret. Set SOS_PSEUDONYM_KEY for real data.",
              file=sys.stderr)
        _warned = True
    return DEMO_KEY.encode("utf-8")


def using_demo_key() -> bool:
    return not os.environ.get("SOS_PSEUDONYM_KEY")
