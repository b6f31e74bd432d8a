"""Faults, with real processes and real files: a refresh killed (SIGKILL) at each step,
analysts reading during a refresh, the CLI while the nightly schedule's run is writing, and a
disk that fills up during a build.

Every scenario starts from the same "state A": a completed refresh of BAU_2016-01 and
VAL_2016-01 (built once, then the data folder AND the Dagster home copied for each scenario).
Then the same deliveries are dropped into the inbox (see `_drop_deliveries`: a correction of
BAU_2016-01, a new month, an identical re-delivery, one that fails validation, one with a bad
name) and a refresh runs, with a fault. The result must equal the "reference": the same refresh
run once without any fault.

Keeping it cheap. A refresh process costs ~10 s of CPU (Dagster start-up, Great Expectations'
import, indicators, publish, extracts), and this file needs about 15 of them. So:
  * the data live in /dev/shm where there is one (fsyncs cost nothing there);
  * the data folder carries its own reference/projects.yaml with a single 2016 project, so a
    refresh builds 3 funder extracts instead of the shipped reference's 26;
  * the six kill scenarios share one refresh: it pauses at each step in turn (faults.py), the
    installation is copied as it is on disk there (what a SIGKILL at that moment leaves: the
    kill loses only what the process holds in memory), and at the last step it is killed. Each
    copy is then looked at and refreshed again;
  * the reference run and the kill scenarios run in background threads, two at a time, as
    soon as state A exists, while the other tests run in the foreground; the kill tests, last
    in the file, wait for their scenario and check what it recorded. On 2 cores this halves the
    wall time.
"""
from __future__ import annotations

import collections
import concurrent.futures
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import pytest
from conftest import one_project

from sos_pipeline import contract, faults
from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import clean_tables

pytestmark = pytest.mark.heavy(90)   # seconds on one core: run early (tests/conftest.py)

KEY = "test-pseudonym-key"
PROCESS_TIMEOUT = 300      # s: any one refresh, even with four processes sharing two cores
PAUSE_TIMEOUT = 120        # s: until a paused refresh reaches its pause point
BACKGROUND_WORKERS = 2



# ---------------------------------------------------------------------------- installations

class Install:
    """One installation on disk: its data folder and its own DAGSTER_HOME."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.home = root / "dagster_home"

    @property
    def inbox(self) -> Path: return self.data / "inbox"
    @property
    def published(self) -> Path: return self.data / "warehouse.duckdb"
    @property
    def working(self) -> Path: return self.data / ".work" / "warehouse.duckdb"
    @property
    def lock(self) -> Path: return self.data / ".work" / "writer.lock"
    @property
    def reports(self) -> Path: return self.data / "reports"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOS_") and k != "DAGSTER_HOME"}
        env.update(SOS_DATA_DIR=str(self.data), DAGSTER_HOME=str(self.home), SOS_PSEUDONYM_KEY=KEY,
                   SOS_DAGSTER_LOG_LEVEL="CRITICAL")
        env.update(extra)
        return env

    def copy(self, dest: Path) -> "Install":
        shutil.copytree(self.root, dest, symlinks=True)
        return Install(dest)


class Proc:
    """A subprocess whose output goes to files (a pipe nobody reads could stall it)."""

    def __init__(self, popen: subprocess.Popen, out: Path, err: Path):
        self.popen, self.out_path, self.err_path = popen, out, err

    @property
    def pid(self) -> int: return self.popen.pid

    def out(self) -> str: return self.out_path.read_text(errors="replace")

    def err(self) -> str: return self.err_path.read_text(errors="replace")

    def wait(self, timeout: float = PROCESS_TIMEOUT) -> tuple[int, str, str]:
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise AssertionError(f"{self.popen.args} did not finish in {timeout} s:\n{self.err()[-3000:]}") from None
        return code, self.out(), self.err()

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()           # SIGKILL: also ends a stopped (SIGSTOP) process
        self.popen.wait()


class Processes:
    """Every process this module starts, so that nothing outlives it (also on failure)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._all: list[Proc] = []
        self._n = 0
        self.closed = False

    def start(self, args: list[str], env: dict, where: Path) -> Proc:
        with self._lock:
            if self.closed:
                raise RuntimeError("the test module is shutting down")
            self._n += 1
            out, err = where / f"proc{self._n}.out", where / f"proc{self._n}.err"
            with open(out, "w") as o, open(err, "w") as e:
                p = Proc(subprocess.Popen(args, env=env, stdout=o, stderr=e, stdin=subprocess.DEVNULL), out, err)
            self._all.append(p)
            return p

    def close(self) -> None:
        with self._lock:
            self.closed = True
            procs = list(self._all)
        for p in procs:
            p.kill()


PROCS = Processes()


def _refresh(inst: Install, **env: str) -> Proc:
    return PROCS.start([sys.executable, "-m", "sos_pipeline", "refresh"], inst.env(**env), inst.root)


def _python(inst: Install, code: str, *args: str, **env: str) -> Proc:
    return PROCS.start([sys.executable, "-c", code, *args], inst.env(**env), inst.root)


def _scratch_dir() -> Path:
    shm = Path("/dev/shm")
    where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="sos-faults-", dir=where))


# ---------------------------------------------------------------------------- the deliveries

def _drop_deliveries(inbox: Path) -> dict[str, str]:
    """What arrives after state A, taken in this order (mtimes fixed). Returns name -> expected."""
    corrected = clean_tables("BAU", 2016, 1)
    corrected["services"][0]["minutes"] = 45                     # a correction of a loaded month
    too_long = clean_tables("VAL", 2016, 2)
    too_long["services"][0]["minutes"] = 601                     # fails services.minutes.range
    drops = [
        ("BAU_2016-01", corrected, "accepted (the version in A: superseded)"),
        ("BAU_2016-02", clean_tables("BAU", 2016, 2), "accepted"),
        ("VAL_2016-01", clean_tables("VAL", 2016, 1), "unchanged"),
        ("VAL_2016-02", too_long, "rejected by validation"),
        ("BAU-2016-03", clean_tables("BAU", 2016, 3), "rejected at intake (bad name)"),
    ]
    base = time.time() - 3600
    for i, (name, tables, _) in enumerate(drops):
        path = writers.write_csv_utf8(inbox, name, tables)
        for f in [*writers.delivery_files(path), path]:
            os.utime(f, (base + 60 * i, base + 60 * i))
    return {name: what for name, _, what in drops}


# ---------------------------------------------------------------------------- what a refresh left

def _sha(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _fingerprint(con) -> list:
    """What an analyst would notice change: a few counts and the sum of all indicator values."""
    return list(con.execute(
        "SELECT (SELECT count(*) FROM core.services), (SELECT count(*) FROM audit.deliveries), "
        "(SELECT count(*) FROM reporting.indicator_values), "
        "(SELECT round(sum(value), 6) FROM reporting.indicator_values)").fetchone())


def _checksum(con, table: str) -> str:
    rows = con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
    norm = [[round(v, 9) if isinstance(v, float) else v for v in r] for r in rows]
    return f"{len(rows)} rows, sha256 {hashlib.sha256(repr(norm).encode()).hexdigest()[:16]}"


def _published_state(path: Path) -> dict:
    """The published file, opened read-only as an analyst opens it."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            "audit": sorted(con.execute("SELECT delivery, sha256, status FROM audit.deliveries").fetchall()),
            "findings": sorted(con.execute(
                "SELECT delivery, sha256, rule, severity, coalesce(table_name, ''), "
                "coalesce(column_name, ''), row_count FROM audit.findings").fetchall()),
            "core": {t: con.execute(f"SELECT count(*) FROM core.{t}").fetchone()[0] for t in contract.TABLES},
            "indicator_values": _checksum(con, "reporting.indicator_values"),
            "target_progress": _checksum(con, "reporting.target_progress"),
            "fingerprint": _fingerprint(con),
        }
    finally:
        con.close()


def _extracts(reports: Path) -> dict:
    """Every extract version: intact (each file the manifest lists is there with its sha256),
    the deliveries it was built from, and its numbers (the CSV files' sha256)."""
    out = {}
    for m in sorted(reports.rglob("manifest.json")):
        d = m.parent
        man = json.loads(m.read_text(encoding="utf-8"))
        intact = all(_sha(d / f) == s for f, s in man["files"].items())
        out[d.relative_to(reports).as_posix()] = {
            "intact": intact,
            "deliveries": sorted((x["delivery"], x["sha256"]) for x in man["deliveries"]),
            "numbers": {f: _sha(d / f) for f in sorted(man["files"]) if f.endswith(".csv")},
        }
    return out


def _leftovers(inst: Install) -> list[str]:
    """Temporary files a refresh should not leave behind (beside the published file, in reports/)."""
    found = [*inst.data.glob(".*.tmp"), *inst.reports.rglob("*.tmp"),
             *(inst.data / ".work" / "pending").glob("*.tmp"), *(inst.data / "archive").rglob("*.partial")]
    return sorted(p.relative_to(inst.data).as_posix() for p in found)


def _outcome(inst: Install) -> dict:
    """Everything a refresh is judged by, comparable between two installations."""
    return {
        **_published_state(inst.published),
        "extracts": _extracts(inst.reports),
        "inbox": sorted(p.name for p in inst.inbox.iterdir()),
        "queued": sorted(p.name for p in (inst.data / ".work" / "pending").glob("*.json")),
        "archive": sorted(p.relative_to(inst.data / "archive").as_posix()
                          for p in (inst.data / "archive").glob("*/*") if p.is_dir()),
        "quarantine": sorted(p.name for p in (inst.data / "quarantine").iterdir()),
    }


def _lock_is_free(inst: Install) -> bool:
    if not inst.lock.exists():
        return True
    fd = os.open(inst.lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def _assert_same_result(got: dict, want: dict) -> None:
    """`got` (after a fault and a recovery) is what the uninterrupted refresh gave."""
    assert got["audit"] == want["audit"], "audit.deliveries differs from the uninterrupted run"
    accepted = collections.Counter(sha for _, sha, status in got["audit"] if status == "accepted")
    assert max(accepted.values()) == 1, f"a delivery accepted twice: {accepted}"
    assert got["findings"] == want["findings"], "audit.findings differs (recorded twice, or lost?)"
    assert got["core"] == want["core"]
    assert got["indicator_values"] == want["indicator_values"]
    assert got["target_progress"] == want["target_progress"]
    for name in ("inbox", "queued", "archive", "quarantine"):
        assert got[name] == want[name], name
    broken = [k for k, v in got["extracts"].items() if not v["intact"]]
    assert not broken, f"extracts whose files do not match their manifest: {broken}"
    assert got["extracts"] == want["extracts"], "the funder extracts differ from the uninterrupted run"


# ---------------------------------------------------------------------------- the module's world

class World:
    """State A, the reference run and the kill scenarios (in the background)."""

    def __init__(self, root: Path, kill_steps: list[str]):
        self.root = root
        self.a = Install(root / "A")
        self._build_state_a()
        self.a_published_sha = _sha(self.a.published)
        self.a_state = _published_state(self.a.published)
        self.a_extracts = _extracts(self.a.reports)
        self._n = 0
        self._names = threading.Lock()
        self.pool = concurrent.futures.ThreadPoolExecutor(BACKGROUND_WORKERS, thread_name_prefix="faults")
        self._reference = self.pool.submit(self._run_reference)
        self._kills = self.pool.submit(self._run_kills, kill_steps)

    def _build_state_a(self) -> None:
        (self.a.inbox).mkdir(parents=True)
        self.a.home.mkdir(parents=True)
        one_project(self.a.data)
        for centre in ("BAU", "VAL"):
            writers.write_csv_utf8(self.a.inbox, f"{centre}_2016-01", clean_tables(centre, 2016, 1))
        code, out, err = _refresh(self.a).wait()
        assert code == 0, f"building state A failed:\n{err[-3000:]}"
        assert self.a.published.exists() and list(self.a.reports.rglob("manifest.json"))

    def new_install(self, name: str) -> Install:
        """A copy of state A (data folder and Dagster home) with the deliveries in its inbox."""
        with self._names:
            self._n += 1
            dest = self.root / f"{self._n:02d}-{name}"
        inst = self.a.copy(dest)
        _drop_deliveries(inst.inbox)
        return inst

    # -- the uninterrupted run
    def _run_reference(self) -> dict:
        inst = self.new_install("reference")
        code, out, err = _refresh(inst).wait()
        assert code == 0, f"the reference refresh failed:\n{err[-3000:]}"
        return {"outcome": _outcome(inst), "leftovers": _leftovers(inst), "stdout": out}

    def reference(self) -> dict:
        return self._reference.result(timeout=2 * PROCESS_TIMEOUT)

    # -- killed at each step, then refreshed again
    def _run_kills(self, steps: list[str]) -> dict:
        """One refresh paused at each step in turn (faults.py): at each pause, a copy of the
        installation as it is on disk, which is what a crash there leaves; then it goes on to the
        next step, and at the last one it is killed with SIGKILL. Each copy is then looked at as
        an analyst and the next refresh find it, and refreshed again (in the pool, two at a time).
        Returns step -> a future of what was observed."""
        inst = self.new_install("killed")
        marker = inst.root / "paused"
        p = _refresh(inst, SOS_PAUSE_AT=",".join(steps), SOS_PAUSE_FILE=str(marker))
        copies: dict[str, tuple[Install, dict]] = {}
        not_paused: dict[str, str] = {}
        killed_code = None
        order = [s for s in faults.STEPS if s in steps]
        try:
            for step in order:
                deadline = time.monotonic() + PAUSE_TIMEOUT
                while not marker.exists():
                    if p.popen.poll() is not None:
                        not_paused[step] = f"exited with {p.popen.returncode} before pausing:\n{p.err()[-3000:]}"
                        break
                    if time.monotonic() > deadline:
                        not_paused[step] = f"did not reach its pause point in {PAUSE_TIMEOUT} s:\n{p.err()[-3000:]}"
                        break
                    time.sleep(0.05)
                if step in not_paused:
                    break
                obs = {"step": step, "marker": marker.read_text().split(), "pid": p.pid}
                with self._names:
                    self._n += 1
                    dest = self.root / f"{self._n:02d}-killed-at-{step}"
                copies[step] = (inst.copy(dest), obs)
                (dest / "paused").unlink()
                if step != order[-1]:
                    marker.unlink()                     # go on to the next step
            if p.popen.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                killed_code = p.popen.wait(30)
        finally:
            p.kill()
        lock_free = _lock_is_free(inst)     # nothing the killed refresh started holds the lock
        out = {}
        for step in steps:
            if step in copies:
                snapshot, obs = copies[step]
                obs.update(killed_code=killed_code, lock_free_after_kill=lock_free)
                out[step] = self.pool.submit(self._after_kill, snapshot, obs)
            else:
                out[step] = concurrent.futures.Future()
                out[step].set_result({"step": step, "not_paused": not_paused.get(
                    step, "an earlier step was not reached")})
        return out

    def _after_kill(self, inst: Install, obs: dict) -> dict:
        # What an analyst, and the next refresh, find after the crash.
        obs["published_sha"] = _sha(inst.published)
        try:
            obs["published_state"] = _published_state(inst.published)
        except Exception as exc:                      # noqa: BLE001 - reported by the test
            obs["published_state"] = f"cannot be read: {exc!r}"
        obs["lock_free"] = _lock_is_free(inst) and obs["lock_free_after_kill"]
        obs["extracts_after_kill"] = _extracts(inst.reports)
        # The next refresh: it must not find the writer lock held (it would give up after 5 s).
        code, out, err = _refresh(inst, SOS_LOCK_WAIT_SECONDS="5").wait()
        obs["rerun"] = {"code": code, "stdout": out, "stderr": err}
        if code == 0:
            obs["outcome"] = _outcome(inst)
            obs["leftovers"] = _leftovers(inst)
        return obs

    def kill_result(self, step: str) -> dict:
        return self._kills.result(timeout=4 * PROCESS_TIMEOUT)[step].result(timeout=4 * PROCESS_TIMEOUT)

    def close(self) -> None:
        PROCS.close()
        self.pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def world(request):
    kill_steps = [item.callspec.params["step"] for item in request.session.items
                  if item.module is request.module and item.originalname == "test_refresh_killed_at_step"]
    root = _scratch_dir()
    w = None
    try:
        w = World(root, kill_steps)
        yield w
    finally:
        if w is not None:
            w.close()
        else:
            PROCS.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def reference(world) -> dict:
    """The same refresh from state A, run once without any fault."""
    return world.reference()


# ---------------------------------------------------------------------------- readers

READER = r"""
import json, os, sys, time
import duckdb
published, stop = sys.argv[1], sys.argv[2]
con = duckdb.connect(published, read_only=True)
def fingerprint():
    return list(con.execute(
        "SELECT (SELECT count(*) FROM core.services), (SELECT count(*) FROM audit.deliveries), "
        "(SELECT count(*) FROM reporting.indicator_values), "
        "(SELECT round(sum(value), 6) FROM reporting.indicator_values)").fetchone())
first = fingerprint()
print("ready", json.dumps(first), flush=True)
reads, others, error = 0, [], None
try:
    while not os.path.exists(stop):
        fp = fingerprint()
        reads += 1
        if fp != first and fp not in others:
            others.append(fp)
        time.sleep(0.05)
except Exception as exc:
    error = repr(exc)
print("done", json.dumps({"first": first, "reads": reads, "others": others, "error": error}), flush=True)
"""


def _wait_for_line(proc: Proc, prefix: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in proc.out().splitlines():
            if line.startswith(prefix):
                return line[len(prefix):].strip()
        if proc.popen.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"no {prefix!r} line from {proc.popen.args[:3]}:\n{proc.err()[-3000:]}")


def test_analysts_reading_during_a_refresh_keep_the_old_state_and_never_block_it(world, reference):
    """Three analysts, each in their own process, hold a read-only connection to the published
    warehouse.duckdb during a whole refresh and keep re-reading it on that connection. The refresh
    is not blocked (exit 0), each analyst sees state A, unchanged, on every read, even across the
    rename that publishes the new file; a connection opened afterwards sees the new state, the
    same as the reference run's."""
    inst = world.new_install("readers")
    stop = inst.root / "stop-reading"
    readers = [_python(inst, READER, str(inst.published), str(stop)) for _ in range(3)]
    try:
        for r in readers:
            assert json.loads(_wait_for_line(r, "ready", 60)) == world.a_state["fingerprint"]
        code, out, err = _refresh(inst).wait()
        stop.touch()
        reports = [json.loads(_wait_for_line(r, "done", 60)) for r in readers]
    finally:
        for r in readers:
            r.kill()
    assert code == 0, err[-3000:]
    for rep in reports:
        assert rep["error"] is None, rep["error"]
        assert rep["reads"] >= 20, f"a reader read only {rep['reads']} times during the refresh"
        assert rep["first"] == world.a_state["fingerprint"]
        assert rep["others"] == [], f"a reader saw the warehouse change under it: {rep['others']}"
    con = duckdb.connect(str(inst.published), read_only=True)
    try:
        now = _fingerprint(con)
    finally:
        con.close()
    assert now != world.a_state["fingerprint"]
    assert now == reference["outcome"]["fingerprint"]


# ---------------------------------------------------------------------------- two writers

NIGHTLY = r"""
import datetime as dt, json, os, sys
import dagster as dg
from dagster import DagsterInstance
from sos_pipeline.definitions import build_definitions

defs = build_definitions()
instance = DagsterInstance.get()
tick = dt.datetime(2026, 1, 15, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
data = defs.resolve_schedule_def("nightly_refresh").evaluate_tick(
    dg.build_schedule_context(instance=instance, scheduled_execution_time=tick))
requests = list(data.run_requests or [])
print("requests", json.dumps([r.job_name for r in requests]), flush=True)
quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
tick = dg.evaluate_automation_conditions(defs=defs, instance=instance)   # the extracts sensor, before


def run(job, tags):
    r = defs.resolve_job_def(job).execute_in_process(instance=instance, tags=tags, run_config=quiet,
                                                     raise_on_error=False)
    print("run", job, "succeeded" if r.success else "FAILED", flush=True)
    for ev in r.get_step_failure_events():
        print(ev.step_key, ev.step_failure_data.error.to_string()[-4000:], file=sys.stderr, flush=True)
    return r.success


ok = all([run(req.job_name, dict(req.tags)) for req in requests])
# Then what the extracts_follow_publish sensor starts: one run of every requested extract.
tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=tick.cursor)
keys = sorted(tick.get_requested_partitions(dg.AssetKey("funder_extract")))
print("extracts requested", len(keys), flush=True)
if keys:
    ok = run("extracts", {"dagster/asset_partition_range_start": keys[0],
                          "dagster/asset_partition_range_end": keys[-1]}) and ok
sys.stdout.flush()
sys.stderr.flush()
os._exit(0 if ok else 1)      # as sos_pipeline.cli.run ends: no interpreter teardown (1-2 s of CPU)
"""


def _holds_flock(pid: int, path: Path) -> bool:
    """Whether process `pid` holds a flock() on `path` now (Linux /proc/locks)."""
    ino = os.stat(path).st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[4] == str(pid) \
                and parts[5].rsplit(":", 1)[-1] == str(ino):
            return True
    return False


def _freeze_while_holding_the_lock(proc: Proc, inst: Install, timeout: float = PAUSE_TIMEOUT) -> None:
    """SIGSTOP `proc` at a moment it holds the writer lock, in the middle of its work."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise AssertionError(f"the nightly run ended before it could be held:\n{proc.err()[-3000:]}")
        if inst.lock.exists():
            os.kill(proc.pid, signal.SIGSTOP)
            if _holds_flock(proc.pid, inst.lock):
                return
            os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError(f"the nightly run never held the writer lock in {timeout} s")


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux /proc/locks")
def test_cli_refresh_while_the_nightly_schedule_run_writes(world, reference):
    """The nightly schedule's run (the runs the schedule requests, executed one after the other in
    another process, as the run queue would) is held, frozen, while it holds the writer lock in
    the middle of its work. Meanwhile a coordinator runs `refresh`:
      * told not to wait (SOS_LOCK_WAIT_SECONDS=1), it refuses with exit code 2 and says another
        refresh is writing the warehouse, and changes nothing;
      * otherwise it says it is waiting, and when the nightly run goes on, both finish. Nothing
        is corrupted or loaded twice: the published file and the extracts are exactly the
        reference run's."""
    inst = world.new_install("nightly")
    nightly = _python(inst, NIGHTLY)
    cli = None
    try:
        assert json.loads(_wait_for_line(nightly, "requests", 120)), "the schedule requested no run"
        _freeze_while_holding_the_lock(nightly, inst)
        before = _sha(inst.published), _extracts(inst.reports)

        code, out, err = _refresh(inst, SOS_LOCK_WAIT_SECONDS="1").wait()
        assert code == 2, f"exit {code}:\n{err[-3000:]}"
        assert "Another refresh is writing the warehouse" in err
        assert "gave up after waiting" in err
        assert (_sha(inst.published), _extracts(inst.reports)) == before

        cli = _refresh(inst)
        deadline = time.monotonic() + 120
        while "waiting for it to finish" not in cli.err():
            assert cli.popen.poll() is None, f"the CLI did not wait:\n{cli.err()[-3000:]}"
            assert time.monotonic() < deadline, "the CLI never said it was waiting"
            time.sleep(0.05)
        assert "Another refresh is writing the warehouse" in cli.err()
        os.kill(nightly.pid, signal.SIGCONT)
        n_code, n_out, n_err = nightly.wait()
        c_code, c_out, c_err = cli.wait()
    finally:
        if cli is not None:
            cli.kill()
        nightly.kill()
    assert n_code == 0, f"the nightly run failed:\n{n_out}\n{n_err[-3000:]}"
    assert c_code == 0, f"the CLI refresh failed:\n{c_err[-3000:]}"
    got = _outcome(inst)
    assert collections.Counter(got["audit"]) == collections.Counter(set(got["audit"])), \
        "a delivery was recorded twice"
    _assert_same_result(got, reference["outcome"])


# ---------------------------------------------------------------------------- a full disk

# Sets the limit on the size of files this process may write, then becomes the refresh.
# (A wrapper rather than Popen's preexec_fn: that is unsafe with the threads this module runs.)
LIMITED = ("import os, resource, sys\n"
           "limit = int(sys.argv[1])\n"
           "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
           "os.execv(sys.executable, [sys.executable, '-m', 'sos_pipeline', 'refresh'])\n")


def test_disk_full_during_a_build_says_so_and_leaves_the_published_warehouse(world, reference):
    """The disk runs out of room while the refresh builds the new warehouse (simulated with a
    per-process file size limit a little above state A's working file: writing past it fails with
    EFBIG, "File too large", as a full disk fails with ENOSPC). The refresh fails (exit 1) and
    says, in plain words, that a file size limit was reached, which file, and that the published
    warehouse was not replaced; it is byte-identical to state A's. Once the limit is lifted, a
    normal refresh reaches exactly the reference result."""
    inst = world.new_install("disk-full")
    limit = inst.working.stat().st_size + 256 * 1024       # room for state A, not for the next build
    code, out, err = _python(inst, LIMITED, str(limit)).wait()
    assert code == 1, f"exit {code} (the refresh should fail for want of room):\n{out[-2000:]}\n{err[-3000:]}"
    assert "The refresh itself failed" in err
    assert "A file size limit was reached" in err, err[-3000:]
    assert f"writing {inst.working}" in err, "the message should name the file that could not grow"
    assert "The published warehouse.duckdb was not replaced" in err
    assert _sha(inst.published) == world.a_published_sha
    assert _published_state(inst.published) == world.a_state
    assert _leftovers(inst) == []

    code, out, err = _refresh(inst).wait()
    assert code == 0, err[-3000:]
    _assert_same_result(_outcome(inst), reference["outcome"])


# ---------------------------------------------------------------------------- killed at each step

def test_the_reference_run_exercises_every_outcome(world, reference):
    """The scenarios' deliveries give every status (so a fault that loses or repeats one shows):
    the correction supersedes A's BAU_2016-01, a new month is accepted, an identical re-delivery is
    unchanged, one delivery fails validation and one has a bad name."""
    statuses = collections.Counter(status for _, _, status in reference["outcome"]["audit"])
    assert statuses == {"accepted": 3, "superseded": 1, "unchanged": 1, "rejected": 2}
    assert reference["outcome"]["fingerprint"] != world.a_state["fingerprint"]
    assert reference["outcome"]["queued"] == [] and reference["outcome"]["inbox"] == []
    assert reference["leftovers"] == []
    assert all(v["intact"] for v in reference["outcome"]["extracts"].values())
    assert {v["deliveries"] != world.a_extracts[k]["deliveries"]
            for k, v in reference["outcome"]["extracts"].items()} == {True}


@pytest.mark.parametrize("step", faults.STEPS)
def test_refresh_killed_at_step(world, reference, step):
    """A refresh is killed with SIGKILL in the middle of `step` (see sos_pipeline/faults.py: inside
    its open transaction, or with its new file half in place; the installation as that kill leaves
    it is the copy the shared refresh made at that pause point). Right after the crash, the published
    warehouse.duckdb is byte-identical to state A's (for "extracts", which run after publishing:
    the complete new state), it opens read-only and answers queries, and no writer lock is left
    held. The next refresh succeeds and its result is exactly the uninterrupted run's: the same
    audit rows (no delivery lost, none accepted twice), core rows, indicator values, queue,
    quarantine and intact funder extracts, and no temporary files left behind."""
    o = world.kill_result(step)
    assert "not_paused" not in o, o.get("not_paused")
    assert o["marker"] == [str(o["pid"]), step]
    assert o["killed_code"] == -signal.SIGKILL
    state = o["published_state"]
    assert isinstance(state, dict), state
    if step == "extracts":
        want = reference["outcome"]
        assert {k: state[k] for k in ("audit", "core", "indicator_values")} == \
               {k: want[k] for k in ("audit", "core", "indicator_values")}
        half = {k for k, v in o["extracts_after_kill"].items() if not v["intact"]}
        assert half, "killed while writing an extract, one of them should be half written"
        for k, v in o["extracts_after_kill"].items():      # the others: as before (one refresh behind)
            assert k in half or v == world.a_extracts[k] or v == want["extracts"][k]
    else:
        assert o["published_sha"] == world.a_published_sha, "the published file changed"
        assert state == world.a_state
        assert o["extracts_after_kill"] == world.a_extracts
    assert o["lock_free"], "the killed refresh's writer lock is still held"
    rerun = o["rerun"]
    assert rerun["code"] == 0, f"the refresh after the crash failed:\n{rerun['stderr'][-3000:]}"
    _assert_same_result(o["outcome"], reference["outcome"])
    assert o["leftovers"] == [], f"temporary files left behind: {o['leftovers']}"
