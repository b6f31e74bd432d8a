"""The shipped sample deliveries: a simulation of the centres' caseloads and work.

- `generate(inbox, seed)` writes the sample deliveries (BAU 2013-01..2018-12, VAL
  2013-11..2018-12, one correction, a few that must be rejected) and returns a summary.
- `write_bad_corpus(inbox)` writes one small bad delivery per kind of bad input.
- `writers` writes one delivery as UTF-8 CSV, Windows-1257 CSV or XLSX.
"""
from sos_pipeline.sample.bad_corpus import write_bad_corpus
from sos_pipeline.sample.generator import KNOBS, generate
from sos_pipeline.sample.writers import write_csv_cp1257, write_csv_utf8, write_xlsx

__all__ = ["generate", "KNOBS", "write_bad_corpus", "write_csv_utf8", "write_csv_cp1257",
           "write_xlsx"]
