"""The working DuckDB file, its schema and comments, and publishing it."""
