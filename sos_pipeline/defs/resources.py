"""The one resource every asset uses: where the data is, and the reference data."""

from pathlib import Path

import dagster as dg

from sos_pipeline import config, reference


class Warehouse(dg.ConfigurableResource):
    """SOS_DATA_DIR: inbox, archive, quarantine, the working and the published warehouse."""

    data_dir: str

    def paths(self) -> config.Paths:
        return config.Paths(Path(self.data_dir)).ensure()

    def reference(self) -> reference.Reference:
        return reference.load(Path(self.data_dir))
