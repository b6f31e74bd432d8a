"""Fault-injection points, for the tests that kill a refresh at each step.

`SOS_PAUSE_AT=<step>` makes the process stop at that step's pause point, in the middle
of the step's work (inside its open transaction, or with its new file half in place),
write its pid and the step into `SOS_PAUSE_FILE`, and wait there. The test then kills it
from outside with SIGKILL: a real crash at a known place, not a simulated one.

Steps, in the order a refresh reaches them:

  ingest      the inbox is half taken: one delivery archived and queued, the rest not
  validation  the queued deliveries are read and staged, validation under way
  core        inside the transaction replacing centre-months in core, before COMMIT
  indicators  inside an indicator family's transaction, before COMMIT
  publish     the new copy fully written beside warehouse.duckdb, before the rename
  extracts    some files of an extract renamed into place, its manifest not yet

Unset (always, outside tests), a pause point costs one dictionary lookup.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

STEPS = ("ingest", "validation", "core", "indicators", "publish", "extracts")


def pause_point(step: str) -> None:
    if os.environ.get("SOS_PAUSE_AT") != step:
        return
    marker = os.environ.get("SOS_PAUSE_FILE")
    if marker:
        tmp = Path(marker + ".tmp")
        tmp.write_text(f"{os.getpid()} {step}\n")
        os.replace(tmp, marker)
    while True:             # until killed
        time.sleep(0.5)
