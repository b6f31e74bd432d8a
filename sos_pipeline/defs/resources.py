"""The one resource every asset uses: where the data is, and the reference data."""

from pathlib import Path

import dagster as dg

from sos_pipeline import config, reference


class Warehouse(dg.ConfigurableResource):
    """SOS_DATA_DIR: inbox, archive, quarantine, the working and the published warehouse.
    Its settings are read once, when the definitions are built (config.py reads the
    environment), and shown in the UI's resource view."""

    data_dir: str
    chunk_rows: int = 250_000
    """Loading reads and validates the queue in chunks of about this many rows (SOS_CHUNK_ROWS)."""

    def paths(self) -> config.Paths:
        return config.Paths(Path(self.data_dir)).ensure()

    def reference(self) -> reference.Reference:
        return reference.load(Path(self.data_dir))
