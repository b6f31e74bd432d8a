"""Indicators: the catalogue (catalogue.py, catalogue.yaml) and the build steps (build.py)."""
