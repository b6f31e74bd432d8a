"""Every query of docs/analyst-guide.md runs, as printed, against the published sample warehouse."""
from __future__ import annotations

import re

import duckdb
import pytest

from sos_pipeline.config import REPO_ROOT

GUIDE = REPO_ROOT / "docs" / "analyst-guide.md"


def guide_queries() -> list[tuple[str, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    out, title = [], None
    for block in re.finditer(r"^### ([^\n]+)$|^```sql\n(.*?)^```", text, re.M | re.S):
        if block.group(1):
            title = block.group(1)
        else:
            out.append((title, block.group(2)))
    return out


def test_the_guide_has_at_least_eight_queries():
    assert len(guide_queries()) >= 8


@pytest.fixture(scope="module")
def con(sample_warehouse):
    c = duckdb.connect(str(sample_warehouse), read_only=True)
    yield c
    c.close()


@pytest.mark.parametrize("title, query", guide_queries(), ids=[t for t, _ in guide_queries()])
def test_guide_query_runs_and_answers(con, title, query):
    rows = con.execute(query).fetchall()
    assert rows, f"{title}: no rows"


def test_families_per_month_query_has_every_month_of_every_centre(con):
    (_, q), = [x for x in guide_queries() if x[0].startswith("1.")]
    rows = con.execute(q).fetchall()
    months = {m for m, _, _ in rows}
    centres = {c for _, c, _ in rows}
    assert centres == {"BAU", "VAL"}
    assert len(rows) == len(months) * len(centres)          # no holes, zeros included
    assert all(v >= 0 for *_, v in rows)


def test_quarter_query_shows_unique_counts_do_not_add_up(con):
    (_, q), = [x for x in guide_queries() if x[0].startswith("6.")]
    rows = con.execute(q).fetchall()
    assert all(quarter <= summed for _, _, quarter, summed in rows)
    assert any(quarter < summed for _, _, quarter, summed in rows)
