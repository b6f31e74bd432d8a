"""Generated docs are up to date with the code they are generated from."""
from sos_pipeline import docs


def test_generated_docs_are_current():
    for path, text in docs.generated().items():
        assert path.read_text(encoding="utf-8") == text, \
            f"{path.name} is stale: run `python -m sos_pipeline.docs`"
