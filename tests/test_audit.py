"""Recording accepted deliveries in bulk (audit.record_accepted_many) is recording them one by
one, in queue order: expected rows worked out by hand."""
from __future__ import annotations

import datetime as dt

import duckdb

from sos_pipeline.findings import WARNING, Finding
from sos_pipeline.ingest import audit
from sos_pipeline.warehouse.db import ensure_schema

MONTH = dt.date(2020, 3, 1)


def _acc(name: str, sha: str, hour: int, centre: str = "BAU", warnings: int = 0) -> audit.Accepted:
    findings = [Finding("structure.id_float", WARNING, "families", "family_ref", "w", (2,), 1)] * warnings
    return audit.Accepted(name, centre, MONTH, dt.datetime(2020, 4, 2, hour, 30), sha, "csv-utf8", 10,
                          f"archive/{name}/{sha}", findings)


def test_corrections_within_one_list_supersede_in_order(tmp_path, monkeypatch):
    monkeypatch.setenv("SOS_NOW", "2020-04-03T12:00:00")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    assert audit.record_accepted(con, **vars(_acc("BAU_2020-03", "a" * 64, 8))) is None   # the stored version
    out = audit.record_accepted_many(con, [
        _acc("BAU_2020-03", "b" * 64, 9, warnings=2),
        _acc("VAL_2020-03", "v" * 64, 9, centre="VAL"),
        _acc("BAU_2020-03", "c" * 64, 10),
    ])
    assert out == ["BAU_2020-03", None, "BAU_2020-03"]
    rows = con.execute("SELECT centre, sha256, status, reason, warnings FROM audit.deliveries "
                       "ORDER BY centre, sha256").fetchall()
    assert rows == [
        ("BAU", "a" * 64, "superseded", "replaced by the correction received 2020-04-02 09:30 (sha256 bbbbbbbbbbbb)", 0),
        ("BAU", "b" * 64, "superseded", "replaced by the correction received 2020-04-02 10:30 (sha256 cccccccccccc)", 2),
        ("BAU", "c" * 64, "accepted", None, 0),
        ("VAL", "v" * 64, "accepted", None, 0),
    ]
    assert con.execute("SELECT sha256, count(*) FROM audit.findings GROUP BY ALL").fetchall() == [("b" * 64, 2)]
    # the accepted version again (a repeated run): nothing written
    assert audit.record_accepted_many(con, [_acc("BAU_2020-03", "c" * 64, 10)]) == [None]
    assert con.execute("SELECT count(*) FROM audit.deliveries").fetchone()[0] == 4
