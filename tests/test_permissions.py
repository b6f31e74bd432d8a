"""Personal data readable by its owner only: a real refresh, every file and folder it makes stat'ed
(sos_pipeline/permissions.py; the coordinator's guide, "Who can read the data folder")."""
from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

import duckdb
import pytest
from conftest import one_project, other_group

from sos_pipeline import cli, config, permissions
from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import clean_tables

pytestmark = pytest.mark.heavy(15)   # seconds on one core: run early (tests/conftest.py)

PRIVATE = ("archive", "quarantine", ".work", "inbox")


@pytest.fixture(autouse=True)
def _fresh_group_cache():
    permissions._gid.cache_clear()
    yield
    permissions._gid.cache_clear()




def _deliveries(data_dir: Path) -> None:
    """Two good deliveries and two rejected ones, written as a centre's files usually are
    (0644 files in 0755 folders; one file executable, one read-only), into a data folder
    whose archive/ and reports/ an older version made world-readable."""
    old = os.umask(0o022)
    try:
        one_project(data_dir)       # 3 funder extracts, not 26: their modes are all alike
        inbox = data_dir / "inbox"
        good = writers.write_csv_utf8(inbox, "BAU_2016-03", clean_tables("BAU", 2016, 3))
        writers.write_xlsx(inbox, "BAU_2016-04", clean_tables("BAU", 2016, 4))
        bad = clean_tables("BAU", 2016, 5)
        bad["services"][0]["minutes"] = 601                 # services.minutes.range: quarantined
        writers.write_csv_utf8(inbox, "BAU_2016-05", bad)
        writers.write_csv_utf8(inbox, "RIG_2016-01", clean_tables("BAU", 2016, 1))  # unknown centre
        for d in ("archive", "reports"):
            (data_dir / d).mkdir(mode=0o755)
    finally:
        os.umask(old)
    # the fixture made them under this process's umask, which an earlier in-process run may
    # have set to 077 (Paths.ensure does): as a shell with umask 022 would have
    for d in (data_dir, data_dir / "inbox"):
        d.chmod(0o755)
    (good / "families.csv").chmod(0o755)
    (good / "children.csv").chmod(0o444)
    for p in [data_dir, *data_dir.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode & 0o044, f"{p} should start readable by others ({oct(mode)})"


def _refresh(data_dir: Path, **env: str) -> None:
    """`sos-pipeline refresh` (its main(), in this process) as the coordinator runs it, from a
    shell whose umask (022) lets everyone read what it creates; env: SOS_SHARE_GROUP or not."""
    saved = {k: os.environ.get(k) for k in {permissions.ENV, *env}}
    os.environ.pop(permissions.ENV, None)
    os.environ.update(env)
    old = os.umask(0o022)
    try:
        assert cli.main(["refresh"]) == 0
    finally:
        os.umask(old)
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _tree(root: Path) -> dict[str, os.stat_result]:
    """Every entry under the data folder but reference/: the coordinator's own override of the
    project register (one_project), which a refresh only reads."""
    out = {".": root.lstat()}
    for p in root.rglob("*"):
        rel = p.relative_to(root).as_posix()
        if rel.split("/")[0] != "reference":
            out[rel] = p.lstat()
    return out


def _mode(st: os.stat_result) -> int:
    return stat.S_IMODE(st.st_mode)


def _what_a_refresh_made(data_dir: Path, tree: dict[str, os.stat_result]) -> None:
    """The refresh really made all there is to check."""
    names = set(tree)
    assert "warehouse.duckdb" in names and ".work/warehouse.duckdb" in names
    assert {"parquet/schema.json", "parquet/reporting.indicator_values.parquet"} <= names
    assert any(n.startswith(".work/pending") for n in names)
    assert {"quarantine/BAU_2016-05/REPORT.md", "quarantine/RIG_2016-01/REPORT.md"} <= names
    archived = [n for n in names if n.startswith("archive/BAU_2016-03/") and n.endswith("/families.csv")]
    assert archived, "the CSV delivery was archived"
    assert any(n.startswith("archive/BAU_2016-04/") and n.endswith(".xlsx") for n in names)
    assert any(n.startswith("reports/") and n.endswith("/report.xlsx") for n in names)
    assert any(n.startswith("reports/") and n.endswith("/manifest.json") for n in names)
    assert not list((data_dir / "inbox").iterdir())
    assert not [n for n in names if n.endswith(".tmp") or n.endswith(".partial")]
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        assert sorted(con.execute("SELECT delivery, status FROM audit.deliveries").fetchall()) == [
            ("BAU_2016-03", "accepted"), ("BAU_2016-04", "accepted"), ("BAU_2016-05", "rejected"),
            ("RIG_2016-01", "rejected")]
    finally:
        con.close()


def test_a_refresh_makes_everything_readable_by_its_owner_only(data_dir):
    _deliveries(data_dir)
    _refresh(data_dir)
    tree = _tree(data_dir)
    _what_a_refresh_made(data_dir, tree)
    wrong = {n: oct(_mode(st)) for n, st in tree.items()
             if _mode(st) != (0o700 if stat.S_ISDIR(st.st_mode) else 0o600)}
    assert not wrong, f"not owner-only (0700 folders, 0600 files): {wrong}"
    assert not [n for n, st in tree.items() if stat.S_ISLNK(st.st_mode)]
    # The archive holds the delivery byte for byte, not its modes (0755, 0444 and 0644 in the inbox).
    (folder,) = (data_dir / "archive" / "BAU_2016-03").iterdir()
    for name in ("families.csv", "children.csv", "services.csv"):
        assert _mode((folder / "BAU_2016-03" / name).stat()) == 0o600


def test_share_group_gives_read_access_to_the_warehouse_parquet_and_reports_only(data_dir):
    group = other_group()
    _deliveries(data_dir)
    _refresh(data_dir, SOS_SHARE_GROUP=group.gr_name)
    tree = _tree(data_dir)
    _what_a_refresh_made(data_dir, tree)
    wrong = {}
    for n, st in tree.items():
        top = n.split("/")[0]
        if n in (".", "reports", "parquet") or (top == "reports" and stat.S_ISDIR(st.st_mode)):
            want = (0o750, group.gr_gid)
        elif n == "warehouse.duckdb" or top in ("reports", "parquet"):
            want = (0o640, group.gr_gid)
        else:
            assert top in PRIVATE, n
            want = (0o700 if stat.S_ISDIR(st.st_mode) else 0o600, None)
        got = (_mode(st), st.st_gid if want[1] is not None else None)
        if got != want:
            wrong[n] = (oct(got[0]), got[1], "wanted", oct(want[0]), want[1])
    assert not wrong, wrong

    # Unset again: the next refresh takes the access back (warehouse.duckdb, parquet/, reports/,
    # the folder).
    _refresh(data_dir)
    tree = _tree(data_dir)
    wrong = {n: oct(_mode(st)) for n, st in tree.items()
             if _mode(st) != (0o700 if stat.S_ISDIR(st.st_mode) else 0o600)}
    assert not wrong, f"still shared after SOS_SHARE_GROUP was unset: {wrong}"


def test_the_published_file_has_its_mode_before_the_rename(data_dir, monkeypatch):
    """warehouse.duckdb is never, not for a moment, in place with another mode or group."""
    from sos_pipeline.warehouse import publish

    group = other_group()
    monkeypatch.setenv(permissions.ENV, group.gr_name)
    paths = config.paths().ensure()
    duckdb.connect(str(paths.working_db)).execute("CREATE SCHEMA core; CREATE TABLE core.t AS SELECT 1 AS x").close()
    seen = []
    real = os.replace

    def replace(src, dst, *a, **kw):
        if Path(dst) == paths.published:
            st = os.stat(src)
            seen.append((_mode(st), st.st_gid))
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(publish.os, "replace", replace)
    publish.publish(paths)
    assert seen == [(0o640, group.gr_gid)]
    st = paths.published.stat()
    assert (_mode(st), st.st_gid) == (0o640, group.gr_gid)
    assert (_mode(paths.data.stat()), paths.data.stat().st_gid) == (0o750, group.gr_gid)


def test_an_unknown_share_group_stops_the_refresh_before_anything_is_written(data_dir, monkeypatch, capsys):
    writers.write_csv_utf8(data_dir / "inbox", "BAU_2016-03", clean_tables("BAU", 2016, 3))
    monkeypatch.setenv(permissions.ENV, "sos-no-such-group")
    assert cli.main(["refresh"]) == 2
    err = capsys.readouterr().err
    assert "SOS_SHARE_GROUP='sos-no-such-group': there is no group of that name" in err
    assert "groupadd sos-no-such-group" in err
    assert (data_dir / "inbox" / "BAU_2016-03").is_dir()             # nothing was taken
    assert not (data_dir / "archive").exists() and not (data_dir / ".work").exists()
    # The Dagster assets get their paths from Paths.ensure(): the same error, before they write.
    with pytest.raises(config.ConfigError, match="no group of that name"):
        config.paths().ensure()


def test_a_group_this_account_is_not_in_is_refused(monkeypatch):
    group = grp.getgrgid(os.getgid())
    monkeypatch.setenv(permissions.ENV, group.gr_name)
    monkeypatch.setattr(permissions.os, "geteuid", lambda: 12345)
    monkeypatch.setattr(permissions.os, "getegid", lambda: group.gr_gid + 1)
    monkeypatch.setattr(permissions.os, "getgroups", lambda: [])
    with pytest.raises(config.ConfigError, match="this account is not a member of group"):
        permissions.share_group()
