"""The privacy gate's scans, as pure functions."""
from __future__ import annotations

import pytest

from sos_pipeline.ingest import privacy
from sos_pipeline.ingest.pseudonym import pseudonym


@pytest.mark.parametrize("header", ["Vārds", "uzvārds", "Personas kods", "PK", "adrese", "Tālrunis",
                                    "E-pasts", "name", "Surname", "e_mail", "mother_name", "phone"])
def test_personal_headers_are_caught(header):
    assert privacy.is_pii_header(header)


@pytest.mark.parametrize("header", ["family_ref", "territory", "target_group", "event_id", "title",
                                    "staff_ref", "minutes", "comment", "adults"])
def test_contract_and_harmless_headers_pass(header):
    assert not privacy.is_pii_header(header)


@pytest.mark.parametrize("text, rule", [
    ("121282-11210", "privacy.personal_code"),       # 12.12.1982, century digit 1
    ("12128211210", "privacy.personal_code"),        # without the hyphen
    ("kods 010100-21234 te", "privacy.personal_code"),
    ("321234-56789", "privacy.personal_code"),       # the newer code
    ("anna.berzina@example.lv", "privacy.email"),
    ("29123456", "privacy.phone"),
    ("+371 29123456", "privacy.phone"),
    ("tel. 2912 3456", "privacy.phone"),
    ("00371 67123456", "privacy.phone"),
    ("37129123456", "privacy.phone"),                # +371 29123456 typed into a number cell
    ("1019011234", "privacy.personal_code"),         # 01019011234 typed into a number cell
])
def test_cell_scan(text, rule):
    assert privacy.cell_hit(text) == rule


@pytest.mark.parametrize("text", ["BAU-S-2014-03-0001", "2014-03-01", "12.12.1982", "B-0137",
                                  "B-0137-2", "VARD-2014A", "311399-11234", "600", "2,5",
                                  "Ģimeņu nometne Ķemeros", "BS-03", "120"])
def test_cell_scan_does_not_flag_ids_dates_and_invalid_codes(text):
    # 311399-11234: 31.13.1899 is no date, so no personal code.
    assert privacy.cell_hit(text) is None


def test_scan_reports_place_never_value():
    findings = privacy.scan_cells("families", "families.csv", ["territory", ""],
                                  [(2, ["Bauska", "ok"]), (3, ["121282-11210", "x"]), (5, ["a@b.lv", ""])])
    assert {(f.rule, f.column, f.rows) for f in findings} == {
        ("privacy.personal_code", "territory", (3,)), ("privacy.email", "territory", (5,))}
    assert not any("121282" in str(f) or "a@b.lv" in str(f) for f in findings)


def test_pseudonym_is_keyed_and_centre_scoped():
    a = pseudonym(b"k1", "BAU", "B-0137")
    assert a == pseudonym(b"k1", "BAU", "B-0137") and len(a) == 32
    assert a != pseudonym(b"k1", "VAL", "B-0137")      # same ref at two centres: two families
    assert a != pseudonym(b"k2", "BAU", "B-0137")      # the key matters
    assert "B-0137" not in a
