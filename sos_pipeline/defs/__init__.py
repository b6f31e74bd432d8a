"""Dagster definitions, one module per domain (ingest, publish, automation)."""
