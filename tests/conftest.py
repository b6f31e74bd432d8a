"""Shared fixtures: every test gets its own SOS_DATA_DIR and DAGSTER_HOME on disk."""
from __future__ import annotations

from pathlib import Path

import pytest

TEST_KEY = "test-pseudonym-key"


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
