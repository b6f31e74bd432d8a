"""Every dialect exports.md promises comes through exactly (real files on disk)."""
from __future__ import annotations


import pandas as pd
import pytest

from sos_pipeline.ingest.pseudonym import pseudonym
from sos_pipeline.ingest.reader import read_delivery
from sos_pipeline.sample import writers
from sos_pipeline.sample.bad_corpus import clean_tables

KEY = b"k"


def _tables():
    t = clean_tables("BAU", 2016, 3)
    t["families"][0]["territory"] = "Gailīšu pagasts"          # ā ī š ... must survive exactly
    t["events"][0]["title"] = 'Ģimeņu diena; "Ķekava", pēcpusdiena,\nar ēdienu'
    t["trainings"][0]["hours"] = 2.5
    return t


@pytest.mark.parametrize("form, options", [
    (writers.CSV_UTF8, {}), (writers.CSV_UTF8, {"bom": True}), (writers.CSV_CP1257, {}),
    (writers.XLSX, {}), (writers.XLSX, {"text_dates": True})])
def test_every_form_reads_to_the_same_typed_tables(tmp_path, form, options):
    tables = _tables()
    path = writers.write_delivery(tmp_path, "BAU_2016-03", tables, form, **options)
    d = read_delivery(path, "BAU", KEY)
    assert d.ok, d.findings
    fam = d.tables["families"]
    assert fam["territory"].tolist()[0] == "Gailīšu pagasts"
    assert fam["_row"].tolist() == [2, 3, 4]                   # spreadsheet rows under the header
    assert fam["family_ref"].tolist()[0] == pseudonym(KEY, "BAU", tables["families"][0]["family_ref"])
    assert fam["enrolled_on"].tolist()[0] == pd.Timestamp(tables["families"][0]["enrolled_on"])
    assert d.tables["events"]["title"].tolist()[0] == tables["events"][0]["title"]
    assert d.tables["trainings"]["hours"].tolist()[0] == 2.5
    assert str(d.tables["services"]["minutes"].dtype) == "Int64"
    assert len(d.tables["services"]) == len(tables["services"])


def test_cp1257_is_never_read_as_latin1(tmp_path):
    path = writers.write_csv_cp1257(tmp_path, "BAU_2016-03", _tables())
    raw = (path / "families.csv").read_bytes()
    assert "Gailīšu".encode("cp1257") in raw and "Gailīšu".encode("utf-8") not in raw
    d = read_delivery(path, "BAU", KEY)
    assert d.form == "csv-cp1257"
    assert "Gailīšu pagasts" in d.tables["families"]["territory"].tolist()


def test_headers_are_case_insensitive_trimmed_and_in_any_order(tmp_path):
    path = writers.write_csv_utf8(tmp_path, "BAU_2016-03", _tables())
    f = path / "children.csv"
    lines = f.read_text(encoding="utf-8").splitlines()
    cols = lines[0].split(",")
    order = list(reversed(range(len(cols))))
    f.write_text("\n".join(",".join(
        (f"  {c.upper()} " if i == 0 else c) for c in [line.split(",")[j] for j in order])
        for i, line in enumerate(lines)) + "\n", encoding="utf-8")
    d = read_delivery(path, "BAU", KEY)
    assert d.ok, d.findings
    assert d.tables["children"]["sex"].notna().all()


def test_unknown_column_is_ignored_with_a_warning(tmp_path):
    t = _tables()
    for r in t["services"]:
        r["comment"] = "ok"
    path = writers.write_csv_utf8(tmp_path, "BAU_2016-03", t)
    d = read_delivery(path, "BAU", KEY)
    assert d.ok
    assert [(f.rule, f.severity, f.table) for f in d.findings] == \
        [("structure.unknown_column", "warning", "services")]
    assert "comment" not in d.tables["services"].columns


def test_unreadable_number_is_a_format_error_naming_row_and_column(tmp_path):
    t = _tables()
    t["services"][1]["minutes"] = "sixty"
    path = writers.write_csv_utf8(tmp_path, "BAU_2016-03", t)
    d = read_delivery(path, "BAU", KEY)
    assert not d.ok
    (f,) = [f for f in d.findings if f.severity == "error"]
    assert (f.rule, f.table, f.column, f.rows) == ("structure.value_format", "services", "minutes", (3,))
    assert "sixty" not in str(f)


def test_decimal_comma_and_latvian_dates(tmp_path):
    path = writers.write_csv_cp1257(tmp_path, "BAU_2016-03", _tables())
    text = (path / "trainings.csv").read_bytes().decode("cp1257")
    assert "2,5" in text and ".03.2016" in text
    d = read_delivery(path, "BAU", KEY)
    assert d.tables["trainings"]["hours"].tolist() == [2.5]
    assert d.tables["trainings"]["start_date"].dt.month.tolist() == [3]


def test_the_whole_file_parse_gives_what_the_row_by_row_parse_gives():
    """parse_csv parses a file at once and keeps that when every row is as wide as the header;
    otherwise it parses it row by row (for the row and line numbers of what is wrong). On 2,000
    small files made of every kind of line (blank, white space, delimiters only, quoted line
    breaks, too few or too many fields, an unclosed quote), both give the same rows, numbers
    and findings."""
    import random

    from sos_pipeline.ingest import reader

    pieces = ["a,b,c", "1,2,3", "x,,z", ",,", "", "  ", " , ,\t", '"q\nr",5,6', "7,8", "9,10,11,12",
              '"open,1,2', ",,3", "\t,4,5", '"a""b",c,d', "x;y;z"]
    rnd = random.Random(2026)
    whole = 0
    for _ in range(2000):
        lines = [rnd.choice(pieces) for _ in range(rnd.randint(0, 7))]
        text = rnd.choice(["\n", "\r\n"]).join(lines) + rnd.choice(["", "\n"])
        delimiter = reader._delimiter(text)
        if delimiter is None:
            continue
        got = reader.parse_csv(text, "families", "families.csv")
        want = reader._parse_by_row(text, "families", "families.csv", delimiter)
        assert got == want, repr(text)
        whole += not got[1] and not got[0].unparsed
    assert whole > 300          # both paths are exercised
