"""The inbox: names, months, archive and queue (file work only, no Dagster run)."""
from __future__ import annotations

import pytest

from sos_pipeline import config, reference
from sos_pipeline.ingest import intake
from sos_pipeline.ingest.inbox import screen_inbox
from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import clean_tables


@pytest.mark.parametrize("today, status", [("2016-03-31", "rejected"), ("2016-04-01", "pending")])
def test_a_month_is_delivered_after_its_last_day(data_dir, monkeypatch, today, status):
    monkeypatch.setenv("SOS_TODAY", today)
    writers.write_csv_utf8(data_dir / "inbox", "BAU_2016-03", clean_tables("BAU", 2016, 3))
    (outcome,) = screen_inbox(config.paths().ensure(), reference.load(data_dir))
    assert outcome.status == status
    if status == "rejected":
        assert "intake.future_month" in outcome.reason


@pytest.mark.parametrize("name", ["bau_2016-03", "BAU_2016-13", "BAU-2016-03", "BAU_2016-3", "BAU_201603",
                                  "BAU_2016-03.xls", "BAU_2016-03.csv", "BAU_2016-03 copy", "BAU_2016-03 (2)"])
def test_malformed_names_are_rejected_and_quarantined_safely(data_dir, name):
    entry = data_dir / "inbox" / name
    entry.write_bytes(b"family_ref\n") if "." in name \
        else entry.mkdir()
    (outcome,) = screen_inbox(config.paths().ensure(), reference.load(data_dir))
    assert (outcome.status, outcome.reason) == ("rejected", "intake.malformed_name")
    reports = list((data_dir / "quarantine").glob("*/REPORT.md"))
    assert len(reports) == 1 and reports[0].parent.parent == data_dir / "quarantine"
    assert not list((data_dir / "inbox").iterdir())                    # taken out of the inbox
    assert list((data_dir / "archive").glob("*/*"))                    # but archived


def test_archive_is_byte_for_byte_and_identical_redelivery_is_only_queued_once(data_dir):
    tables = clean_tables("VAL", 2016, 5)
    path = writers.write_xlsx(data_dir / "inbox", "VAL_2016-05", tables)
    original = path.read_bytes()
    paths, ref = config.paths().ensure(), reference.load(data_dir)
    (first,) = screen_inbox(paths, ref)
    archived = data_dir / "archive" / "VAL_2016-05" / first.sha256 / "VAL_2016-05.xlsx"
    assert archived.read_bytes() == original
    assert first.sha256 == intake.sha256_of(archived)
    writers.write_xlsx(data_dir / "inbox", "VAL_2016-05", tables)       # the same bytes again
    (second,) = screen_inbox(paths, ref)
    assert (second.status, second.reason) == ("unchanged", "already queued")
    assert len(intake.pending_list(paths)) == 1
