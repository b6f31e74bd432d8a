"""One partition per centre and month: the grid the coordinator reads in the UI."""

import dagster as dg

from sos_pipeline import reference

FIRST_MONTH = "2013-01"


def delivery_partitions(ref: reference.Reference) -> dg.MultiPartitionsDefinition:
    """Centres come from centres.yaml, so a new centre brings its partitions without code."""
    first = min([c.active_from for c in ref.centres.values()]).strftime("%Y-%m")
    return dg.MultiPartitionsDefinition({
        "centre": dg.StaticPartitionsDefinition(sorted(ref.centres)),
        "month": dg.MonthlyPartitionsDefinition(start_date=min(first, FIRST_MONTH), fmt="%Y-%m",
                                                end_offset=0, timezone="Europe/Riga"),
    })
