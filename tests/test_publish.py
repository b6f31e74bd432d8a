"""Readers and writers: analysts read the published file while refreshes run (real processes)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import duckdb
import pytest
from conftest import one_project

from sos_pipeline import cli
from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import clean_tables

pytestmark = pytest.mark.heavy(30)   # seconds on one core: run early (tests/conftest.py)


def _services(con) -> int:
    return con.execute("SELECT count(*) FROM core.services").fetchone()[0]


def _refresh_process(data_dir):
    return subprocess.Popen([sys.executable, "-m", "sos_pipeline", "refresh"], env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_reader_holding_the_published_file_neither_blocks_nor_sees_a_half_built_state(data_dir):
    one_project(data_dir)
    inbox = data_dir / "inbox"
    writers.write_csv_utf8(inbox, "BAU_2016-01", clean_tables("BAU", 2016, 1))
    assert cli.refresh(quiet=True) == 0
    published = data_dir / "warehouse.duckdb"
    analyst = duckdb.connect(str(published), read_only=True)   # held during the whole refresh
    old = _services(analyst)
    for m in (2, 3, 4):
        writers.write_csv_utf8(inbox, f"BAU_2016-{m:02d}", clean_tables("BAU", 2016, m))
    proc = _refresh_process(data_dir)
    seen = set()
    while proc.poll() is None:                                  # new readers during the refresh
        con = duckdb.connect(str(published), read_only=True)
        seen.add(_services(con))
        con.close()
        time.sleep(0.05)
    out, err = proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    assert _services(analyst) == old                            # the old state, consistently
    assert analyst.execute("SELECT count(*) FROM audit.deliveries").fetchone()[0] == 1
    analyst.close()
    new = _services(duckdb.connect(str(published), read_only=True))
    assert new == old * 4
    assert seen <= {old, new}                                   # never anything in between
    assert "accepted   3" in out

    # What is published: everything analysts read, not the indicator build's working tables.
    def tables(path):
        con = duckdb.connect(str(path), read_only=True)
        try:
            return {f"{s}.{t}" for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
        finally:
            con.close()

    work, pub = tables(data_dir / ".work" / "warehouse.duckdb"), tables(published)
    assert {"derived.served", "derived.values_served", "derived.month_since"} <= work
    assert work - pub == {t for t in work if t.startswith("derived.") and t != "derived.build_state"}
    assert {"core.services", "audit.deliveries", "reporting.indicator_values", "derived.build_state"} <= pub


def test_two_refreshes_at_once_one_waits_and_nothing_is_loaded_twice(data_dir):
    one_project(data_dir)
    inbox = data_dir / "inbox"
    for m in (1, 2, 3):
        writers.write_csv_utf8(inbox, f"VAL_2016-{m:02d}", clean_tables("VAL", 2016, m))
    a, b = _refresh_process(data_dir), _refresh_process(data_dir)
    outs = [p.communicate() for p in (a, b)]
    assert a.returncode == 0 and b.returncode == 0, [o[1][-2000:] for o in outs]
    assert any("waiting for it to finish" in err for _, err in outs)
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT delivery, count(*) FROM audit.deliveries GROUP BY 1 ORDER BY 1").fetchall() \
        == [("VAL_2016-01", 1), ("VAL_2016-02", 1), ("VAL_2016-03", 1)]
    assert _services(con) == 3 * len(clean_tables("VAL", 2016, 1)["services"])


def test_a_writer_gives_up_with_a_clear_message_when_told_not_to_wait(data_dir, monkeypatch):
    from sos_pipeline import config
    from sos_pipeline.warehouse.db import WriterBusy, writer_lock

    paths = config.paths().ensure()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time; from sos_pipeline import config; from sos_pipeline.warehouse.db import writer_lock\n"
        "with writer_lock(config.paths().ensure()):\n print('held', flush=True); time.sleep(5)")],
        env=os.environ.copy(), stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    try:
        import pytest
        with pytest.raises(WriterBusy, match="Another refresh is writing the warehouse"):
            with writer_lock(paths, wait_seconds=0.5):
                pass
    finally:
        holder.kill()
        holder.wait()
