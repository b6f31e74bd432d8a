"""Funder report extracts per project and period.

build() reads the *published* warehouse read-only (so it never waits for an analyst and
shows exactly what analysts see), suppresses small cells, and saves the extract under
reports/<PROJECT>/<PERIOD>/ (store.py: versions and final extracts).
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable

from sos_pipeline.config import Paths


class NoWarehouse(RuntimeError):
    """There is no published warehouse to build extracts from."""


@contextlib.contextmanager
def reports_lock(paths: Paths, wait_seconds: float = 600):
    """One process writes reports/ at a time (a refresh and `sos-pipeline report` may overlap)."""
    import filelock

    paths.work.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(paths.work / "reports.lock"), mode=0o600, is_singleton=True)
    try:
        lock.acquire(timeout=wait_seconds, poll_interval=0.2)
    except filelock.Timeout:
        raise TimeoutError(f"Another process is writing {paths.reports} (lock {paths.work}/reports.lock)") from None
    try:
        yield
    finally:
        lock.release()


def build(paths: Paths, ref, keys: Iterable[str], final: bool = False, log=None):
    """Build (or leave unchanged) the extracts with these partition keys. Yields store.Outcome."""
    import duckdb

    from sos_pipeline.extracts import content, store, suppress
    from sos_pipeline.extracts.periods import all_periods, extract_periods

    if not paths.published.exists():
        raise NoWarehouse(f"No published warehouse at {paths.published}: run `sos-pipeline refresh` first.")
    periods = all_periods(ref)
    cells: dict[str, content.ProjectCells] = {}   # one suppression per project, shared by its extracts
    digests: dict[str, str] = {}                  # what each project's extracts are made of
    seen_file = paths.work / "extract_inputs.json"
    with reports_lock(paths):
        seen = store.load_seen(seen_file)
        con = duckdb.connect(str(paths.published), read_only=True)
        try:
            for key in keys:
                ep = periods[key]
                t0 = time.perf_counter()
                if ep.project not in digests:
                    digests[ep.project] = store.inputs_digest(con, ref, ref.projects[ep.project])
                inputs = f"{digests[ep.project]}:{key}"
                kept = None if final else store.unchanged_since(paths.reports, ep, inputs, seen)
                if kept is not None:
                    kept.seconds = round(time.perf_counter() - t0, 3)
                    if log:
                        log(kept)
                    yield kept
                    continue
                if ep.project not in cells:
                    project = ref.projects[ep.project]
                    memo = suppress.Memo(paths.work / "suppression" / f"{ep.project}.json")
                    cells[ep.project] = content.project_cells(
                        con, project, [p.label for p in extract_periods(project)], memo)
                    memo.save()
                ex = content.collect(con, ep, ref, cells[ep.project])
                if not ex.has_data and not store.versions(store.folder(paths.reports, ep.project, ep.label)):
                    out = store.Outcome(key, "no-data", None, None,
                                        message=f"{ep.label} ({ep.start} – {ep.end}) has no delivered month yet")
                else:
                    out = store.save(ex, paths.reports, ref, final=final)
                seen[key] = {"version": out.version, "inputs": inputs}
                out.seconds = round(time.perf_counter() - t0, 3)
                if log:
                    log(out)
                yield out
        finally:
            con.close()
            store.save_seen(seen_file, seen)
        from sos_pipeline.extracts.charts import prune
        prune(paths.work / "charts")
        # Every folder and file under reports/, new or left unchanged: the share group's modes
        # when SOS_SHARE_GROUP is set, the owner's only when not (sos_pipeline/permissions.py).
        from sos_pipeline import permissions
        permissions.secure_reports(paths.reports)
