"""What is published opens in the tools analysts have (docs/analyst-guide.md, "Which tools work").

A real refresh of a few small deliveries publishes warehouse.duckdb and parquet/. Then:
  * DuckDB 1.x clients open warehouse.duckdb read-only and read a table, a table comment and a
    column comment: the Python package 1.5.6 (the newest 1.x) and 1.4.5 (the oldest release the
    file is written for), and the 1.5.6 command line. They refuse the working file (DuckDB 2.0's
    own format): that is what the publish converts.
  * pyarrow (not DuckDB) reads every Parquet file; schema.json lists exactly those files, with
    the published tables' row counts, columns, types and comments.
  * the guide's Python and command-line snippets run as printed (2.0 and 1.5.6), and its DuckDB
    2.0 gotcha is what DuckDB 2.0 really does.
  * a publish swaps the Parquet set whole, gives it the warehouse's permissions, and a failed one
    leaves the previous set and nothing half-written.

The 1.x clients and pyarrow live in .venv-duckdb1/ (scripts/setup-duckdb1.sh, which
scripts/test.sh runs once); each runs in a subprocess. Without them (no PyPI) those tests are
skipped and say why, except in CI (CI set), where that is a failure.
"""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import one_project, other_group

from sos_pipeline import cli, config, permissions
from sos_pipeline.config import REPO_ROOT
from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import clean_tables
from sos_pipeline.warehouse import publish as publish_mod

CLIENTS = REPO_ROOT / ".venv-duckdb1"
CLIENT_PY = CLIENTS / "bin" / "python"
CLIENT_CLI = CLIENTS / "bin" / "duckdb"
OLDEST = CLIENTS / "duckdb-1.4"            # duckdb 1.4.5, put first on PYTHONPATH
GUIDE = REPO_ROOT / "docs" / "analyst-guide.md"



# ---------------------------------------------------------------------------- the clients

_clients: dict = {}


def _clients_ready() -> None:
    """.venv-duckdb1/ exists (made here once if scripts/test.sh has not), else skip (fail in CI)."""
    if "error" not in _clients:
        r = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "setup-duckdb1.sh")], cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=900)
        _clients["error"] = None if r.returncode == 0 and CLIENT_PY.exists() else (
            f"scripts/setup-duckdb1.sh could not make .venv-duckdb1/ (the DuckDB 1.x clients; it needs "
            f"PyPI): {(r.stderr or r.stdout).strip()[-800:]}")
    if _clients["error"]:
        if os.environ.get("CI"):
            pytest.fail(_clients["error"])
        pytest.skip(_clients["error"])


def _client_env(oldest: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    if oldest:
        env["PYTHONPATH"] = str(OLDEST)
    return env


def _run(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env or _client_env(), capture_output=True, text=True, timeout=120)


# Which Python runs a snippet: .venv's (DuckDB 2.0) or .venv-duckdb1's (1.5.6 or 1.4.5).
PYTHONS = {"2.0": lambda: ([sys.executable], None),
           "1.5": lambda: ([str(CLIENT_PY)], _client_env()),
           "1.4": lambda: ([str(CLIENT_PY)], _client_env(oldest=True))}


def _python(which: str, code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    if which != "2.0":
        _clients_ready()
    cmd, env = PYTHONS[which]()
    return _run([*cmd, "-c", code, *args], cwd, env)


# ---------------------------------------------------------------------------- one refresh

@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A data folder after a real `refresh`: BAU 2016-01/02 and VAL 2016-01 accepted, one delivery
    rejected (so audit.deliveries has more than one status). Returns the data folder."""
    root = tmp_path_factory.mktemp("clients")
    data, home = root / "data", root / "dagster_home"
    one_project(data)
    home.mkdir()
    for centre, month in (("BAU", 1), ("BAU", 2), ("VAL", 1)):
        writers.write_csv_utf8(data / "inbox", f"{centre}_2016-{month:02d}", clean_tables(centre, 2016, month))
    bad = clean_tables("VAL", 2016, 2)
    bad["services"][0]["minutes"] = 601                       # services.minutes.range: rejected
    writers.write_csv_utf8(data / "inbox", "VAL_2016-02", bad)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOS_DATA_DIR", str(data))
        mp.setenv("DAGSTER_HOME", str(home))
        mp.setenv("SOS_PSEUDONYM_KEY", "test-pseudonym-key")
        mp.delenv("SOS_ENV", raising=False)
        mp.delenv(permissions.ENV, raising=False)
        assert cli.refresh(quiet=True) == 0
    return data


def _expected(data: Path) -> dict:
    """What DuckDB 2.0 reads from the published file: what every other client must read too."""
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        return {
            "values": list(con.execute("SELECT count(*), round(sum(value), 6) FROM reporting.indicator_values")
                           .fetchall()[0]),
            "deliveries": [list(r) for r in con.execute(
                "SELECT delivery, status FROM audit.deliveries ORDER BY ALL").fetchall()],
            "table_comment": con.execute(
                "SELECT comment FROM duckdb_tables() WHERE schema_name = 'reporting' "
                "AND table_name = 'indicator_values'").fetchall()[0][0],
            "column_comment": con.execute(
                "SELECT comment FROM duckdb_columns() WHERE schema_name = 'reporting' "
                "AND table_name = 'indicator_values' AND column_name = 'breakdown'").fetchall()[0][0],
            "uncommented": con.execute(
                "SELECT count(*) FROM duckdb_columns() WHERE NOT internal AND coalesce(comment, '') = ''")
            .fetchall()[0][0],
        }
    finally:
        con.close()


READ = r"""
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
q = lambda sql: con.execute(sql).fetchall()
print(json.dumps({
    "version": duckdb.__version__,
    "values": list(q("SELECT count(*), round(sum(value), 6) FROM reporting.indicator_values")[0]),
    "deliveries": [list(r) for r in q("SELECT delivery, status FROM audit.deliveries ORDER BY ALL")],
    "table_comment": q("SELECT comment FROM duckdb_tables() WHERE schema_name = 'reporting' "
                       "AND table_name = 'indicator_values'")[0][0],
    "column_comment": q("SELECT comment FROM duckdb_columns() WHERE schema_name = 'reporting' "
                        "AND table_name = 'indicator_values' AND column_name = 'breakdown'")[0][0],
    "uncommented": q("SELECT count(*) FROM duckdb_columns() WHERE NOT internal AND coalesce(comment, '') = ''")[0][0],
}))
"""


# ---------------------------------------------------------------------------- DuckDB 1.x

@pytest.mark.parametrize("which, version", [("1.5", "1.5.6"), ("1.4", "1.4.5")])
def test_duckdb_1x_reads_the_published_warehouse_and_its_comments(published, which, version):
    r = _python(which, READ, str(published / "warehouse.duckdb"), cwd=published)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout)
    assert got.pop("version") == version
    want = _expected(published)
    assert got == want
    assert want["values"][0] > 0 and {s for _, s in want["deliveries"]} == {"accepted", "rejected"}
    assert want["table_comment"].startswith("Every indicator of the catalogue")
    assert want["column_comment"].startswith("NULL for the headline value")
    assert want["uncommented"] == 0


@pytest.mark.parametrize("which", ["1.5", "1.4"])
def test_duckdb_1x_refuses_the_working_file(published, which):
    """The working file is in DuckDB 2.0's own format (what a byte copy would publish)."""
    r = _python(which, READ, str(published / ".work" / "warehouse.duckdb"), cwd=published)
    assert r.returncode != 0
    assert "version number" in r.stderr, r.stderr[-2000:]


def test_the_guides_queries_run_on_duckdb_1_4(published):
    """Every query of the guide runs on the oldest DuckDB the file is written for."""
    from test_analyst_guide import guide_queries

    code = ("import json, sys, duckdb\n"
            "con = duckdb.connect(sys.argv[1], read_only=True)\n"
            "for title, q in json.load(sys.stdin):\n"
            "    con.execute(q).fetchall()\n"
            "print('ok', duckdb.__version__)\n")
    _clients_ready()
    r = subprocess.run([str(CLIENT_PY), "-c", code, str(published / "warehouse.duckdb")], cwd=published,
                       env=_client_env(oldest=True), input=json.dumps(guide_queries()),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split() == ["ok", "1.4.5"]


# ---------------------------------------------------------------------------- Parquet

PYARROW = r"""
import json, sys
from pathlib import Path
import pyarrow.parquet as pq
folder = Path(sys.argv[1])
out = {}
for f in sorted(folder.glob("*.parquet")):
    t = pq.read_table(f)
    out[f.name] = {"rows": t.num_rows, "columns": t.schema.names,
                   "format": pq.ParquetFile(f).metadata.format_version}
print(json.dumps(out))
"""


def test_every_parquet_file_reads_and_schema_json_describes_it(published):
    folder = published / "parquet"
    doc = json.loads((folder / "schema.json").read_text(encoding="utf-8"))
    con = duckdb.connect(str(published / "warehouse.duckdb"), read_only=True)
    try:
        tables = [f"{s}.{t}" for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name = 'reporting' "
            "OR (schema_name = 'audit' AND table_name = 'deliveries') ORDER BY 1, 2").fetchall()]
        assert "reporting.indicator_values" in tables and "audit.deliveries" in tables
        # Exactly these files: nothing of core, audit.findings or staging.
        assert sorted(p.name for p in folder.iterdir()) == sorted([*(f"{t}.parquet" for t in tables), "schema.json"])
        assert doc["format"] == 1 and doc["warehouse"] == "warehouse.duckdb"
        assert [t["table"] for t in doc["tables"]] == tables
        for entry in doc["tables"]:
            schema, table = entry["table"].split(".")
            path = folder / entry["file"]
            assert entry["file"] == f"{entry['table']}.parquet"
            assert entry["bytes"] == path.stat().st_size
            assert entry["comment"] == con.execute(
                "SELECT comment FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                [schema, table]).fetchall()[0][0]
            assert entry["comment"]
            columns = con.execute(
                "SELECT column_name, data_type, is_nullable, comment FROM duckdb_columns() "
                "WHERE schema_name = ? AND table_name = ? ORDER BY column_index", [schema, table]).fetchall()
            assert [(c["name"], c["type"], c["nullable"], c["comment"]) for c in entry["columns"]] == columns
            assert all(c["comment"] for c in entry["columns"])
            # The file holds the published table, row for row (audit.deliveries: the columns the
            # warehouse already publishes, nothing more).
            assert entry["rows"] == con.execute(f"SELECT count(*) FROM {entry['table']}").fetchall()[0][0]
            assert con.execute(f"SELECT count(*) FROM (FROM read_parquet(?) EXCEPT ALL FROM {entry['table']})",
                               [str(path)]).fetchall()[0][0] == 0
            assert [d[0] for d in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()] \
                == [c[0] for c in columns]
    finally:
        con.close()
    r = _python("1.5", PYARROW, str(folder), cwd=published)     # a reader that is not DuckDB
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout)
    assert sorted(got) == sorted(t["file"] for t in doc["tables"])
    for entry in doc["tables"]:
        assert got[entry["file"]]["rows"] == entry["rows"]
        assert got[entry["file"]]["columns"] == [c["name"] for c in entry["columns"]]
        assert got[entry["file"]]["format"] == "1.0"


# ---------------------------------------------------------------------------- the guide's snippets

def _guide_blocks(lang: str) -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    return [m.group(1) for m in re.finditer(rf"^```{lang}\n(.*?)^```", text, re.M | re.S)]


def test_the_guide_shows_python_r_and_the_command_line():
    assert len(_guide_blocks("python")) >= 3
    assert any("dbConnect(duckdb::duckdb(), dbdir" in b and "read_only = TRUE" in b for b in _guide_blocks("r"))
    assert any(line.startswith("duckdb -readonly ") for b in _guide_blocks("sh") for line in b.splitlines())


@pytest.mark.parametrize("which", ["2.0", "1.5"])
def test_the_guides_python_snippets_run(published, which):
    """Each ```python block of the guide, as printed, from the folder that holds data/ (the pandas
    one needs pyarrow, which only .venv-duckdb1 has)."""
    ran = 0
    for block in _guide_blocks("python"):
        if which == "2.0" and re.search(r"^import (pandas|pyarrow)", block, re.M):
            continue
        r = _python(which, block, cwd=published.parent)
        assert r.returncode == 0, f"{block}\n{r.stderr[-3000:]}"
        assert r.stdout.strip(), f"the snippet printed nothing:\n{block}"
        ran += 1
    assert ran >= 2


def test_the_guides_command_line_runs_on_duckdb_1x(published):
    _clients_ready()
    lines = [line for b in _guide_blocks("sh") for line in b.splitlines()
             if line.startswith("duckdb ") and " -c " in line]
    assert lines
    import shlex

    for line in lines:
        args = shlex.split(line.split("  #")[0])
        r = _run([str(CLIENT_CLI), *args[1:]], published.parent)
        assert r.returncode == 0, f"{line}\n{r.stderr[-2000:]}"
        assert r.stdout.strip()
    r = _run([str(CLIENT_CLI), "--version"], published.parent)
    assert r.stdout.startswith("v1.5.6"), r.stdout


def test_the_duckdb_2_gotcha_is_real_and_the_fixes_work(published):
    """DuckDB 2.0: after con.execute(...).fetchone(), con.sql(...) on the same connection raises
    ResourceInUseException (the guide says so); fetchall(), complete() or a cursor avoid it."""
    con = duckdb.connect(str(published / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM audit.deliveries").fetchone()[0] > 0
        with pytest.raises(duckdb.Error, match="unfinished result") as exc:
            con.sql("SELECT 1").fetchall()
        assert type(exc.value).__name__ == "ResourceInUseException"
        con.complete()
        assert con.sql("SELECT 1").fetchall() == [(1,)]
        assert con.execute("SELECT count(*) FROM audit.deliveries").fetchall()[0][0] > 0
        assert con.sql("SELECT 2").fetchall() == [(2,)]
        assert con.cursor().execute("SELECT count(*) FROM audit.deliveries").fetchone()[0] > 0
        assert con.sql("SELECT 3").fetchall() == [(3,)]
    finally:
        con.close()
    assert "ResourceInUseException" in GUIDE.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------- publishing the set



def _modes(data: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for p in [data / "warehouse.duckdb", data / "parquet", *sorted((data / "parquet").iterdir())]:
        st = p.lstat()
        out[p.relative_to(data).as_posix()] = (stat.S_IMODE(st.st_mode), st.st_gid)
    return out


def _leftovers(data: Path) -> list[str]:
    return sorted(p.name for p in data.glob(".*") if p.name != ".work")


def test_a_publish_swaps_the_set_whole_with_the_warehouses_permissions(published, monkeypatch):
    paths = config.Paths(published)
    monkeypatch.delenv(permissions.ENV, raising=False)
    permissions._gid.cache_clear()
    owner_only = _modes(published)
    assert {m for m, _ in owner_only.values()} <= {0o600, 0o700}
    assert owner_only["parquet"][0] == 0o700 and owner_only["warehouse.duckdb"][0] == 0o600

    group = other_group()
    monkeypatch.setenv(permissions.ENV, group.gr_name)
    before = (published / "parquet").stat().st_ino
    old_doc = json.loads((published / "parquet" / "schema.json").read_text(encoding="utf-8"))
    out = publish_mod.publish(paths)
    assert out["parquet"] == str(published / "parquet") and "audit.deliveries" in out["parquet_tables"]
    assert (published / "parquet").stat().st_ino != before            # a new folder, swapped in
    doc = json.loads((published / "parquet" / "schema.json").read_text(encoding="utf-8"))
    assert [t["sha256"] for t in doc["tables"]] == [t["sha256"] for t in old_doc["tables"]]
    shared = _modes(published)
    assert shared["parquet"] == (0o750, group.gr_gid)
    assert {v for k, v in shared.items() if k != "parquet"} == {(0o640, group.gr_gid)}
    assert _leftovers(published) == []

    monkeypatch.delenv(permissions.ENV)
    publish_mod.publish(paths)
    assert {m for m, _ in _modes(published).values()} == {0o600, 0o700}
    assert _leftovers(published) == []


@pytest.mark.parametrize("exchange", [True, False], ids=["rename-exchange", "two-renames"])
def test_swapping_a_folder_keeps_the_previous_one_until_the_new_one_is_in(tmp_path, monkeypatch, exchange):
    dest, new = tmp_path / "parquet", tmp_path / ".parquet.1.tmp"
    new.mkdir()
    (new / "a").write_text("first")
    publish_mod._swap_folder(new, dest)                      # nothing there yet: a plain rename
    assert (dest / "a").read_text() == "first" and not new.exists()
    if not exchange:
        monkeypatch.setattr(publish_mod, "_renameat2_exchange", lambda a, b: False)
    new.mkdir()
    (new / "b").write_text("second")
    publish_mod._swap_folder(new, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["b"]
    assert sorted(p.name for p in new.iterdir()) == ["a"]     # the previous set, for the caller to remove
    assert sorted(p.name for p in tmp_path.iterdir()) == [".parquet.1.tmp", "parquet"]


def test_a_failed_publish_leaves_the_previous_files_and_no_half_copy(published, monkeypatch):
    paths = config.Paths(published)
    monkeypatch.delenv(permissions.ENV, raising=False)
    before = {p.name: p.read_bytes() for p in (published / "parquet").iterdir()}
    warehouse = (published / "warehouse.duckdb").read_bytes()
    written = []

    def full_disk(path):
        written.append(sorted(p.name for p in Path(path).iterdir()))
        raise OSError(28, "No space left on device", str(path))

    with monkeypatch.context() as m:
        m.setattr(publish_mod.permissions, "for_readers_tree", full_disk)
        with pytest.raises(OSError, match="No space left"):
            publish_mod.publish(paths)
    assert written and "schema.json" in written[0]            # it failed with the new set complete
    assert {p.name: p.read_bytes() for p in (published / "parquet").iterdir()} == before
    assert (published / "warehouse.duckdb").read_bytes() == warehouse
    assert _leftovers(published) == []
    # What a publish that was killed left is removed by the next one.
    (published / ".parquet.999999.tmp").mkdir()
    (published / ".parquet.999999.tmp" / "x.parquet").write_bytes(b"half")
    (published / ".warehouse.duckdb.999999.tmp").write_bytes(b"half")
    (published / ".warehouse.duckdb.999999.tmp.wal").write_bytes(b"half")
    publish_mod.publish(paths)
    assert _leftovers(published) == []


def test_comments_the_copy_lacks_are_re_applied_from_the_working_catalog():
    """COPY FROM DATABASE keeps comments in DuckDB 2.0; if a version dropped them, publish puts
    them back (tables, views, columns; quotes included)."""
    con = duckdb.connect()
    try:
        for db in ("src", "dst"):
            con.execute(f"ATTACH ':memory:' AS {db}")
            con.execute(f"CREATE SCHEMA {db}.reporting")
            con.execute(f"CREATE TABLE {db}.reporting.t (a INTEGER, \"b c\" VARCHAR)")
            con.execute(f"CREATE VIEW {db}.reporting.v AS SELECT 1 AS x")
        con.execute("COMMENT ON TABLE src.reporting.t IS 'the project''s table'")
        con.execute("COMMENT ON COLUMN src.reporting.t.\"b c\" IS 'a column'")
        con.execute("COMMENT ON VIEW src.reporting.v IS 'a view'")
        assert publish_mod._carry_comments(con, "src", "dst") == 3
        assert publish_mod._comments(con, "dst") == publish_mod._comments(con, "src")
        assert publish_mod._carry_comments(con, "src", "dst") == 0
    finally:
        con.close()
