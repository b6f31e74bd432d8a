"""The one resource every asset uses: where the data is, and the reference data."""

from pathlib import Path

import dagster as dg

from sos_pipeline import config, reference


# Concurrency pools (the instance's dagster.yaml gives each pool one run at a time): the ops that
# write the working warehouse are in WRITER_POOL, the funder extracts (which write reports/ and
# read only the published file) in REPORTS_POOL. So an extracts run may go on beside a load, and
# two writing runs never overlap. The writer lock (warehouse/db.writer_lock) still guards the file
# against what runs outside Dagster's queue: the CLI's own runs.
WRITER_POOL = "warehouse"
REPORTS_POOL = "reports"


class Warehouse(dg.ConfigurableResource):
    """SOS_DATA_DIR: inbox, archive, quarantine, the working and the published warehouse.
    Its settings are read once, when the definitions are built (config.py reads the
    environment), and shown in the UI's resource view."""

    data_dir: str
    chunk_rows: int = 250_000
    """Loading reads and validates the queue in chunks of about this many rows (SOS_CHUNK_ROWS)."""
    extract_workers: int = 2
    """How many processes build funder extracts at once, one project each (SOS_EXTRACT_WORKERS)."""
    duckdb_memory: str = config.DEFAULT_DUCKDB_MEMORY
    """The most memory DuckDB may take on the working warehouse; beyond it, it spills to disk
    (SOS_DUCKDB_MEMORY)."""

    def paths(self) -> config.Paths:
        return config.Paths(Path(self.data_dir), self.duckdb_memory).ensure()

    def reference(self) -> reference.Reference:
        return reference.load(Path(self.data_dir))
