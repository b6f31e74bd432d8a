"""Benchmark: what one event costs in Dagster's run history, by event log storage.

    python bench/event_log.py [--partitions 400] [--repeat 3]

A loading run records, for each centre-month it settles, one materialisation of
`core_delivery` (with markdown metadata) and one `validation` check evaluation
(sos_pipeline/defs/records.py). This script times exactly that shape: one asset run in a
fresh DAGSTER_HOME logs N partitioned materialisations and N check evaluations, once with
Dagster's default SQLite event log and once with the one this project configures
(sos_pipeline/dagster_storage.py), each in its own process, best of --repeat. Prints ms per
event; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

STORAGES = {
    "dagster default (SqliteEventLogStorage)": None,
    "sos_pipeline (PooledSqliteEventLogStorage)": "sos_pipeline.dagster_storage.PooledSqliteEventLogStorage",
}


def child(n: int) -> None:
    import dagster as dg

    parts = dg.StaticPartitionsDefinition([f"C{i:03d}|2020-01" for i in range(n)])

    @dg.asset(partitions_def=parts)
    def core_delivery():
        pass

    @dg.asset(deps=[core_delivery])
    def load(context):
        t = time.perf_counter()
        for key in parts.get_partition_keys():
            context.log_event(dg.AssetMaterialization(asset_key="core_delivery", partition=key, metadata={
                "rows": 120, "preview": dg.MetadataValue.md("| service | contacts |\n|---|---|\n" + "| x | 1 |\n" * 12)}))
            context.log_event(dg.AssetCheckEvaluation(
                asset_key=dg.AssetKey("core_delivery"), check_name="validation", partition=key, passed=True,
                metadata={"errors": 0, "suites": dg.MetadataValue.md("| suite | result |\n" * 12)}))
        print(f"RESULT {(time.perf_counter() - t) / (2 * n) * 1000:.2f}", flush=True)

    with dg.DagsterInstance.get() as instance:
        assert dg.materialize([load], instance=instance).success


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--partitions", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.partitions)
    for label, cls in STORAGES.items():
        best = None
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="sos-evlog-") as home:
                settings = "telemetry:\n  enabled: false\n"
                if cls:
                    module, _, name = cls.rpartition(".")
                    settings += f"event_log_storage:\n  module: {module}\n  class: {name}\n"
                with open(os.path.join(home, "dagster.yaml"), "w") as f:
                    f.write(settings)
                r = subprocess.run([sys.executable, __file__, "--child", "--partitions", str(args.partitions)],
                                   env=dict(os.environ, DAGSTER_HOME=home), capture_output=True, text=True)
                line = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")]
                if r.returncode or not line:
                    sys.exit(f"{label}: failed\n{r.stderr[-2000:]}")
                ms = float(line[0].split()[1])
                best = ms if best is None else min(best, ms)
        print(f"{label}: {best:.2f} ms an event ({2 * args.partitions} events, best of {args.repeat})")


if __name__ == "__main__":
    main()
