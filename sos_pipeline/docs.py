"""Regenerate the docs that are generated from code: `python -m sos_pipeline.docs`.

- docs/validation-rules.md from sos_pipeline.validation.rules
- docs/data-dictionary.md from the warehouse's table and column comments
- docs/indicator-catalogue.md from sos_pipeline/indicators/catalogue.yaml
"""
from __future__ import annotations

from pathlib import Path

from sos_pipeline.config import REPO_ROOT

DOCS = REPO_ROOT / "docs"


def generated() -> dict[Path, str]:
    from sos_pipeline.indicators.docs import data_dictionary, indicator_catalogue
    from sos_pipeline.validation.rules import render_markdown

    return {DOCS / "validation-rules.md": render_markdown(),
            DOCS / "data-dictionary.md": data_dictionary(),
            DOCS / "indicator-catalogue.md": indicator_catalogue()}


def main() -> int:
    for path, text in generated().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
