"""A failed refresh, said in words a coordinator can act on.

Dagster keeps the whole story of a failed run (the UI's run page: every step, the full
traceback). The coordinator at the terminal needs one thing: what went wrong and what
to do. For most failures that is the error's own last line. Running out of room is
different: it is common, it is not a bug, and its wording ("FATAL Error: Failed to create
checkpoint because of error: Could not write file ...: File too large") hides the point,
so `describe` turns it into a sentence: the disk is full (or a size limit was reached),
which file, and what to do.

Pure functions: no I/O, nothing imported from Dagster at import time.
"""
from __future__ import annotations

import re

# The step that replaces warehouse.duckdb (the `warehouse` asset, sos_pipeline/defs/publish.py).
PUBLISH_STEP = "warehouse"
# What the steps do, in the coordinator's words (the step keys are the ops' names).
_DOING = {"archived_deliveries": "Taking the inbox", "load_deliveries": "Loading the deliveries",
          "build_indicators": "Computing the indicators",
          PUBLISH_STEP: "Publishing", "funder_extract": "Building the funder extracts"}


def _doing(step_key: str) -> str:
    return _DOING.get(step_key, "A step")

# (what the error text says, what it means). The wordings are the ones the pieces of the
# pipeline really use, found by filling a small file system and by a file size limit:
#   Python   OSError: [Errno 28] No space left on device / [Errno 27] File too large
#   DuckDB   Could not write file "<path>": No space left on device   (also: File too large)
#            Could not write to file "<path>" - attempted to write 0 bytes: ...
#            failed to offload data block of size ... (its temporary files: max_temp_directory_size)
#   SQLite   database or disk is full   (Dagster's run history in DAGSTER_HOME)
_NO_SPACE = re.compile(r"No space left on device|\[Errno 28\]|\bENOSPC\b|database or disk is full",
                       re.IGNORECASE)
_TOO_LARGE = re.compile(r"File too large|\[Errno 27\]|\bEFBIG\b", re.IGNORECASE)
_QUOTA = re.compile(r"Disk quota exceeded|\[Errno 122\]|\bEDQUOT\b", re.IGNORECASE)
_TEMP_FULL = re.compile(r"failed to offload data block|max_temp_directory_size", re.IGNORECASE)

# Which file: DuckDB quotes it ("Could not write file "<path>": ..."), Python appends it
# ("[Errno 28] No space left on device: '<path>'").
_PATHS = (
    re.compile(r'Could not (?:write|write to|fsync|truncate) file "([^"]+)"'),
    re.compile(r"\[Errno \d+\] [^:'\"\n]+: '([^']+)'"),
    re.compile(r'\[Errno \d+\] [^:\'"\n]+: "([^"]+)"'),
)

_AGAIN = "then run the refresh again: it carries on from where this one stopped"


def _path(text: str) -> str | None:
    for pattern in _PATHS:
        m = pattern.search(text)
        if m:
            return m.group(1)
    return None


def describe(error_text: str) -> str | None:
    """A coordinator-readable sentence when `error_text` says the disk (or a size limit) ran
    out of room; None for any other error."""
    if not error_text:
        return None
    path = _path(error_text)
    where = f"writing {path}" if path else "writing a file"
    if _TEMP_FULL.search(error_text):
        return ("The disk is full, or DuckDB's temporary files reached their limit "
                "(max_temp_directory_size), while the warehouse was being built. Free some space on "
                f"the disk that holds the data folder, {_AGAIN}.")
    if _NO_SPACE.search(error_text):
        return (f"The disk is full: {where} failed (No space left on device). Free some space on that "
                f"disk, {_AGAIN}.")
    if _QUOTA.search(error_text):
        return (f"The disk quota is used up: {where} failed (Disk quota exceeded). Free some space or ask "
                f"for a larger quota, {_AGAIN}.")
    if _TOO_LARGE.search(error_text):
        return (f"A file size limit was reached: {where} failed (File too large: the file may not grow "
                "any further, because of a limit on file size such as `ulimit -f`, or the file "
                f"system's largest file). Raise the limit or move the data folder, {_AGAIN}.")
    return None


def error_text(error) -> str:
    """Every message in a Dagster SerializableErrorInfo, with its causes and contexts: Dagster
    wraps the real error ("Error occurred while executing op ...") and keeps it as the cause."""
    parts, seen = [], set()
    stack = [error]
    while stack:
        e = stack.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if getattr(e, "message", None):
            parts.append(e.message.strip())
        stack += [getattr(e, "cause", None), getattr(e, "context", None)]
    return "\n".join(parts)


def _root_message(error) -> str:
    """The innermost cause's message, first line, without the exception's module path."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    line = (getattr(error, "message", "") or "").strip().splitlines()
    text = line[0] if line else (getattr(error, "cls_name", None) or "unknown error")
    text = re.sub(r"^[\w.]+\.(\w+(?:Error|Exception)):", r"\1:", text)
    return text if len(text) <= 300 else text[:297] + "..."


def run_failure_text(result) -> str:
    """What went wrong in a failed Dagster run (an ExecuteInProcessResult, or anything with
    `all_events`), in one paragraph: each failed step and its error, a full disk said as
    such, and whether warehouse.duckdb was left as it was. Empty for a run that did not fail."""
    events = list(getattr(result, "all_events", None) or [])
    failures = [e for e in events if getattr(e, "is_step_failure", False)]
    started = {e.step_key for e in events if getattr(e, "is_step_start", False)}
    steps = _step_keys(result)
    parts: list[str] = []
    out_of_room: set[str] = set()          # steps that failed for want of room
    for ev in failures:
        error = ev.step_failure_data.error if ev.step_failure_data else None
        said = describe(error_text(error)) if error is not None else None
        if said:
            out_of_room.add(ev.step_key)
        parts.append(f"{_doing(ev.step_key)} failed (step {ev.step_key}): "
                     f"{said or (_root_message(error) if error else 'see the run in the Dagster UI')}")
    if not failures:
        for ev in events:
            if getattr(ev, "event_type_value", "") in ("PIPELINE_FAILURE", "RUN_FAILURE"):
                data = ev.event_specific_data
                error = getattr(data, "error", None)
                if error is not None:
                    parts.append(describe(error_text(error)) or _root_message(error))
                elif ev.message:
                    parts.append(ev.message)
    if not parts:
        return ""
    if PUBLISH_STEP in steps and (PUBLISH_STEP not in started or PUBLISH_STEP in out_of_room):
        # Not started: nothing replaced it. Failed for want of room: publishing writes only
        # before the rename (checkpoint, then the copy beside the file), never after it.
        parts.append("The published warehouse.duckdb was not replaced: analysts still see the "
                     "previous refresh.")
    return " ".join(p if p.endswith(".") else p + "." for p in parts)


def _step_keys(result) -> set[str]:
    try:
        return {n.name for n in result.job_def.nodes_in_topological_order}
    except Exception:
        return set()
