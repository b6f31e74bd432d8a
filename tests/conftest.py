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
