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


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Path:
    """The shipped sample data through a real `sos-pipeline refresh` (in a subprocess, as the
    coordinator runs it): the published warehouse.duckdb. Built once per test session."""
    import os
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("sample")
    env = dict(os.environ, SOS_DATA_DIR=str(root / "data"), DAGSTER_HOME=str(root / "dagster_home"),
               SOS_PSEUDONYM_KEY=TEST_KEY)
    env.pop("SOS_ENV", None)
    (root / "dagster_home").mkdir()
    for command in ("sample-data", "refresh"):
        done = subprocess.run([sys.executable, "-m", "sos_pipeline", command], env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, f"sos-pipeline {command} failed:\n{done.stdout}\n{done.stderr}"
    return root / "data" / "warehouse.duckdb"
