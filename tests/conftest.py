"""Shared fixtures: every test gets its own SOS_DATA_DIR and DAGSTER_HOME on disk."""
from __future__ import annotations

from pathlib import Path

import pytest

TEST_KEY = "test-pseudonym-key"


def _in_memory_temp_root() -> None:
    """tmp_path and tmp_path_factory in memory (tmpfs, /dev/shm) where the machine has one. Every
    refresh a test runs makes many small fsyncs (Dagster's SQLite event log and run storage, DuckDB
    checkpoints, the archive's copies): on disk they are a third of a small refresh's time, in
    memory they cost nothing. PYTEST_DEBUG_TEMPROOT is where pytest puts its pytest-of-<user>/
    folder; a value set by whoever runs pytest wins."""
    import os

    shm = Path("/dev/shm")
    if "PYTEST_DEBUG_TEMPROOT" not in os.environ and shm.is_dir() and os.access(shm, os.W_OK):
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(shm)


_in_memory_temp_root()


def _extracts_here() -> None:
    """Funder extracts built in the refresh's own process (SOS_EXTRACT_WORKERS=1) in every test
    but the sample's build, which uses the default two worker processes (test_extracts checks what
    they built, and that it is what one process builds). The suite keeps both cores busy already:
    a worker's start-up (about 1.3 s of CPU) would be spent again in every refresh of a test that
    has more than one project, and win nothing."""
    import os

    os.environ.setdefault("SOS_EXTRACT_WORKERS", "1")


_extracts_here()

# One project over BAU and VAL in 2016 (the clean deliveries' BAU-FS services find their project),
# so that a refresh builds 3 funder extracts, not the shipped reference's 26.
ONE_PROJECT_YAML = """\
projects:
  - code: BAU-FS
    number: null
    name_lv: Ģimeņu stiprināšana un atbalsts Bauskas novadā
    name_en: Family strengthening and support in Bauska county
    funder: Bauska county municipality
    centres: [BAU, VAL]
    start: 2016-01-01
    end: 2016-12-31
    reporting_months: 12
    suppression_threshold: 5
    budget: []
    targets:
      - {indicator: families_served, value: 20, from: 2016-01-01}
    manual_values: []
"""


def one_project(data: Path) -> Path:
    """Give the data folder ONE_PROJECT_YAML as its projects.yaml (a reference override), for a
    refresh whose funder extracts nothing looks at: each of the shipped reference's 26 costs
    about a quarter of a second, also when the data is three months."""
    (data / "reference").mkdir(parents=True, exist_ok=True)
    (data / "reference" / "projects.yaml").write_text(ONE_PROJECT_YAML, encoding="utf-8")
    return data


def other_group():
    """A group this process may give files to, other than its own where it can be (so that the
    group is really changed): any group for root, else a supplementary one, else its own."""
    import grp
    import os

    own = os.getgid()
    candidates = [g.gr_gid for g in grp.getgrall()] if os.geteuid() == 0 else os.getgroups()
    for gid in candidates:
        if gid != own:
            try:
                return grp.getgrgid(gid)
            except KeyError:
                continue
    return grp.getgrgid(own)


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "data"
    (d / "inbox").mkdir(parents=True)
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("SOS_DATA_DIR", str(d))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("SOS_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.delenv("SOS_ENV", raising=False)
    return d


# ---------------------------------------------------------------- the sample warehouse
# The shipped sample data through a real `sos-pipeline sample-data` + `sos-pipeline refresh`,
# run as the coordinator runs them (a subprocess). The refresh takes minutes, so it starts in
# the background as soon as collection shows a test needs it, and the tests that need it run
# last: on 2 cores the rest of the suite runs meanwhile.
#
# With pytest-xdist (-n N) every worker collects every test, but the build must run once: the
# controller picks its folder (SHARED_SAMPLE_ROOT, inherited by the workers), the first worker to
# claim it starts the build, and a worker that needs the warehouse waits for the build's exit
# code file. The controller, which ends after every worker, stops the build and removes it.
SHARED_SAMPLE_ROOT = "PYTEST_SOS_SAMPLE_ROOT"
_SAMPLE: dict = {}

_BUILD = """\
import os, subprocess, sys
code = 0
for c in ('sample-data', 'refresh'):
    code = subprocess.run([sys.executable, '-m', 'sos_pipeline', c]).returncode
    if code:
        break
with open(sys.argv[1] + '.tmp', 'w') as f:
    f.write(str(code))
os.replace(sys.argv[1] + '.tmp', sys.argv[1])
sys.exit(code)
"""


def _scratch_root() -> Path:
    """In memory (tmpfs) where the machine has one: the build's many small fsyncs (Dagster's
    SQLite event log, DuckDB checkpoints) then cost nothing, and it is the suite's long pole."""
    import os
    import tempfile

    shm = Path("/dev/shm")
    where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="sos-sample-", dir=where))


def _start_sample_build(root: Path) -> None:
    import os
    import subprocess
    import sys

    env = dict(os.environ, SOS_DATA_DIR=str(root / "data"), DAGSTER_HOME=str(root / "dagster_home"),
               SOS_PSEUDONYM_KEY=TEST_KEY, SOS_EXTRACT_WORKERS="2")
    env.pop("SOS_ENV", None)
    (root / "dagster_home").mkdir(parents=True)
    log = open(root / "build.log", "w")
    # its own process group, so that stopping it stops the refresh it runs too
    proc = subprocess.Popen([sys.executable, "-c", _BUILD, str(root / "exit-code")], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (root / "pid").write_text(str(proc.pid))
    _SAMPLE.update(log=log, proc=proc)


def _stop_sample_build(root: Path) -> None:
    import os
    import shutil
    import signal

    proc = _SAMPLE.get("proc")
    if proc is not None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    elif (root / "pid").exists() and not (root / "exit-code").exists():
        try:                                # started by an xdist worker (its own process group)
            os.killpg(int((root / "pid").read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    if "log" in _SAMPLE:
        _SAMPLE["log"].close()
    shutil.rmtree(root, ignore_errors=True)


def pytest_configure(config):
    import os

    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    if getattr(config.option, "dist", "no") == "no":
        return
    root = _scratch_root()                  # the xdist controller: the workers share one build
    os.environ[SHARED_SAMPLE_ROOT] = str(root)
    _SAMPLE.update(root=root, owner=True)


def _weight(item) -> float:
    mark = item.get_closest_marker("heavy")
    return float(mark.args[0]) if mark and mark.args else 0.0


def pytest_collection_modifyitems(session, config, items):
    """Heavy modules first, the longest first, so that two xdist workers (which take whole files,
    --dist loadfile, in this order) end at about the same time; the tests that read the sample
    warehouse last, to give its build time (stable sorts: a module's tests keep their order)."""
    import os

    items.sort(key=lambda i: -_weight(i))
    needing = [i for i in items if "sample_warehouse" in getattr(i, "fixturenames", ())]
    if not needing:
        return
    chosen = set(map(id, needing))
    items[:] = [i for i in items if id(i) not in chosen] + needing
    shared = os.environ.get(SHARED_SAMPLE_ROOT) if hasattr(config, "workerinput") else None
    if shared:
        root = Path(shared)
        _SAMPLE.update(root=root, owner=False)
        try:
            (root / "claimed").mkdir()
        except FileExistsError:
            return                          # another worker started it
        _start_sample_build(root)
    else:
        root = _scratch_root()
        _SAMPLE.update(root=root, owner=True)
        _start_sample_build(root)


def pytest_unconfigure(config):
    if _SAMPLE.get("owner"):
        _stop_sample_build(_SAMPLE["root"])
    elif "log" in _SAMPLE:
        _SAMPLE["log"].close()


def _running(root: Path) -> bool:
    """The build another worker started is still running (or has just written its exit code)."""
    try:
        pid = int((root / "pid").read_text())
    except (FileNotFoundError, ValueError):
        return True                         # claimed, being started
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return (root / "exit-code").exists() or not Path("/proc/self/stat").exists()
    return state != "Z" or (root / "exit-code").exists()


@pytest.fixture(scope="session")
def sample_warehouse() -> Path:
    """The published warehouse.duckdb of the sample data (see above)."""
    import time

    root = _SAMPLE["root"]
    proc = _SAMPLE.get("proc")
    if proc is not None:
        code = proc.wait()
        _SAMPLE["log"].flush()
    else:                                       # built by another xdist worker
        deadline = time.monotonic() + 3600
        while not (root / "exit-code").exists():
            assert time.monotonic() < deadline, "the sample warehouse was not built within an hour"
            assert _running(root), "the sample build ended without an exit code"
            time.sleep(0.5)
        code = int((root / "exit-code").read_text())
    log = (root / "build.log").read_text(encoding="utf-8", errors="replace")
    assert code == 0, f"building the sample warehouse failed:\n{log[-5000:]}"
    return root / "data" / "warehouse.duckdb"
