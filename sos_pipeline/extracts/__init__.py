"""Funder report extracts per project and period.

build() reads the *published* warehouse read-only (so it never waits for an analyst and
shows exactly what analysts see), suppresses small cells, and saves the extract under
reports/<PROJECT>/<PERIOD>/ (store.py: versions and final extracts).
"""
from __future__ import annotations

import contextlib
import os
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


def build(paths: Paths, ref, keys: Iterable[str], final: bool = False, log=None, workers: int = 1):
    """Build (or leave unchanged) the extracts with these partition keys. Yields store.Outcome:
    first the extracts whose inputs have not changed, then, project by project, the ones built.

    Each project's extracts share one suppression (all its cells protected as one table), so a
    project is the unit of work: with `workers` > 1 and more than one project to build, each
    project is built in a process of its own, `workers` at a time, the largest first (a worker
    costs about 1.5 s of start-up; at 80 centres a project takes 7 to 50 s)."""
    import duckdb

    from sos_pipeline.extracts import store
    from sos_pipeline.extracts.periods import all_periods

    if not paths.published.exists():
        raise NoWarehouse(f"No published warehouse at {paths.published}: run `sos-pipeline refresh` first.")
    periods = all_periods(ref)
    digests: dict[str, str] = {}                  # what each project's extracts are made of
    todo: dict[str, list[tuple[str, str]]] = {}   # project -> (key, inputs) of the extracts to build
    seen_file = paths.work / "extract_inputs.json"
    with reports_lock(paths):
        seen = store.load_seen(seen_file)
        try:
            con = duckdb.connect(str(paths.published), read_only=True)
            try:
                for key in keys:
                    ep = periods[key]
                    t0 = time.perf_counter()
                    if ep.project not in digests:
                        digests[ep.project] = store.inputs_digest(con, ref, ref.projects[ep.project])
                    inputs = f"{digests[ep.project]}:{key}"
                    kept = None if final else store.unchanged_since(paths.reports, ep, inputs, seen)
                    if kept is None:
                        todo.setdefault(ep.project, []).append((key, inputs))
                        continue
                    kept.seconds = round(time.perf_counter() - t0, 3)
                    if log:
                        log(kept)
                    yield kept
                sizes = {p: _size(con, p) for p in todo} if workers > 1 and len(todo) > 1 else {}
            finally:
                con.close()
            for out, inputs in _build_projects(paths, ref, todo, final, workers, sizes):
                seen[out.key] = {"version": out.version, "inputs": inputs}
                if log:
                    log(out)
                yield out
        finally:
            store.save_seen(seen_file, seen)
        from sos_pipeline.extracts.charts import prune
        prune(paths.work / "charts")
        # Every folder and file under reports/, new or left unchanged: the share group's modes
        # when SOS_SHARE_GROUP is set, the owner's only when not (sos_pipeline/permissions.py).
        from sos_pipeline import permissions
        permissions.secure_reports(paths.reports)


def _size(con, project: str) -> int:
    """How much work a project's extracts are: its indicator values in the warehouse."""
    return con.execute("SELECT count(*) FROM reporting.indicator_values WHERE project = ?",
                       [project]).fetchone()[0]


def _build_projects(paths: Paths, ref, todo: dict, final: bool, workers: int, sizes: dict):
    """(Outcome, inputs) of every extract in `todo`, project by project: here, or in `workers`
    processes when there is more than one project (see build)."""
    if workers <= 1 or len(todo) <= 1:
        for project, items in todo.items():
            yield from _build_project(paths, ref, project, items, final)
        return
    import concurrent.futures
    import multiprocessing

    # spawn, not fork: the parent holds DuckDB's threads and Dagster's connections
    with concurrent.futures.ProcessPoolExecutor(min(workers, len(todo)),
                                                mp_context=multiprocessing.get_context("spawn"),
                                                initializer=_end_with, initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(_built_project, paths, ref, project, todo[project], final)
                   for project in sorted(todo, key=lambda p: -sizes.get(p, 0))]
        try:
            for done in concurrent.futures.as_completed(futures):
                yield from done.result()
        finally:        # a failure (or the caller stopping) leaves the others unstarted
            for f in futures:
                f.cancel()


def _end_with(parent: int) -> None:
    """In a worker: end when the process that started it ends, however it ends (a refresh killed
    with SIGKILL must not leave a worker writing reports/ without the reports lock its parent
    held). Linux's parent-death signal; elsewhere a thread that watches the parent."""
    import signal
    import threading

    try:
        import ctypes
        if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL) != 0:     # PR_SET_PDEATHSIG
            raise OSError
    except (OSError, AttributeError):
        def watch():
            while os.getppid() == parent:
                time.sleep(0.2)
            os._exit(1)
        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:      # it ended before the signal was asked for
        os._exit(1)


def _built_project(paths: Paths, ref, project: str, items: list, final: bool) -> list:
    return list(_build_project(paths, ref, project, items, final))


def _build_project(paths: Paths, ref, project: str, items: list[tuple[str, str]], final: bool):
    """Build one project's extracts (items: (key, inputs)) from the published warehouse: its
    cells suppressed once (with the project's memo), then each extract collected and saved."""
    import duckdb

    from sos_pipeline.extracts import content, store, suppress
    from sos_pipeline.extracts.periods import all_periods, extract_periods

    periods = all_periods(ref)
    con = duckdb.connect(str(paths.published), read_only=True)
    try:
        cells = None
        for key, inputs in items:
            ep = periods[key]
            t0 = time.perf_counter()
            if cells is None:
                memo = suppress.Memo(paths.work / "suppression" / f"{project}.json")
                cells = content.project_cells(con, ref.projects[project],
                                              [p.label for p in extract_periods(ref.projects[project])], memo)
                memo.save()
            ex = content.collect(con, ep, ref, cells)
            if not ex.has_data and not store.versions(store.folder(paths.reports, ep.project, ep.label)):
                out = store.Outcome(key, "no-data", None, None,
                                    message=f"{ep.label} ({ep.start} – {ep.end}) has no delivered month yet")
            else:
                out = store.save(ex, paths.reports, ref, final=final)
            out.seconds = round(time.perf_counter() - t0, 3)
            yield out, inputs
    finally:
        con.close()
