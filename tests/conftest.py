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
_SAMPLE: dict = {}


def _start_sample_build(root: Path) -> None:
    import os
    import subprocess
    import sys

    env = dict(os.environ, SOS_DATA_DIR=str(root / "data"), DAGSTER_HOME=str(root / "dagster_home"),
               SOS_PSEUDONYM_KEY=TEST_KEY)
    env.pop("SOS_ENV", None)
    (root / "dagster_home").mkdir(parents=True)
    script = ("import subprocess, sys\n"
              "for c in ('sample-data', 'refresh'):\n"
              "    r = subprocess.run([sys.executable, '-m', 'sos_pipeline', c])\n"
              "    if r.returncode: sys.exit(r.returncode)\n")
    log = open(root / "build.log", "w")
    _SAMPLE.update(root=root, log=log, proc=subprocess.Popen([sys.executable, "-c", script], env=env,
                                                             stdout=log, stderr=subprocess.STDOUT))


def pytest_collection_modifyitems(session, config, items):
    import os

    needing = [i for i in items if "sample_warehouse" in getattr(i, "fixturenames", ())]
    if not needing:
        return
    items[:] = [i for i in items if i not in needing] + needing
    import tempfile

    # In memory (tmpfs) where the machine has one: the build's many small fsyncs (Dagster's
    # SQLite event log, DuckDB checkpoints) then cost nothing, and it is the suite's long pole.
    shm = Path("/dev/shm")
    where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    _start_sample_build(Path(tempfile.mkdtemp(prefix="sos-sample-", dir=where)))


def pytest_unconfigure(config):
    proc = _SAMPLE.get("proc")
    if proc is not None and proc.poll() is None:
        proc.kill()
    if "root" in _SAMPLE:
        import shutil

        _SAMPLE["log"].close()
        shutil.rmtree(_SAMPLE["root"], ignore_errors=True)


@pytest.fixture(scope="session")
def sample_warehouse() -> Path:
    """The published warehouse.duckdb of the sample data (see above)."""
    proc = _SAMPLE["proc"]
    code = proc.wait()
    _SAMPLE["log"].flush()
    log = (_SAMPLE["root"] / "build.log").read_text(encoding="utf-8", errors="replace")
    assert code == 0, f"building the sample warehouse failed:\n{log[-5000:]}"
    return _SAMPLE["root"] / "data" / "warehouse.duckdb"
