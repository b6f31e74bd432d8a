"""Fault-injection points, for the tests that kill a refresh at each step.

`SOS_PAUSE_AT=<step>[,<step>...]` makes the process stop at each listed step's pause point (the
first time it reaches it), in the middle of the step's work (inside its open transaction, or
with its new file half in place), write its pid and the step into `SOS_PAUSE_FILE`, and wait
there while that file exists. The test copies what is on disk at that moment, which is exactly
what a crash there leaves (a SIGKILL loses what the process holds in memory, and the copy never
sees it), deletes the file to let the process go on to the next step, and in the end kills it
with SIGKILL: a real crash, and one refresh for every place it is observed at.

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
_PAUSED: set[str] = set()


def pause_point(step: str) -> None:
    wanted = os.environ.get("SOS_PAUSE_AT")
    if not wanted or step in _PAUSED or step not in wanted.split(","):
        return
    _PAUSED.add(step)
    marker = os.environ.get("SOS_PAUSE_FILE")
    if not marker:
        while True:         # until killed
            time.sleep(0.5)
    tmp = Path(marker + ".tmp")
    tmp.write_text(f"{os.getpid()} {step}\n")
    os.replace(tmp, marker)
    while os.path.exists(marker):   # until killed, or told to go on
        time.sleep(0.05)
