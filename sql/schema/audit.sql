-- audit: what was received and what became of it.
CREATE SCHEMA IF NOT EXISTS audit;

CREATE TABLE IF NOT EXISTS audit.deliveries (
    delivery VARCHAR NOT NULL,         -- name as sent, e.g. BAU_2014-03
    centre VARCHAR,                    -- NULL when the name could not be read
    month DATE,
    received_at TIMESTAMP NOT NULL,
    sha256 VARCHAR NOT NULL,
    status VARCHAR NOT NULL,           -- accepted, rejected, superseded, unchanged
    reason VARCHAR,                    -- rules broken (rejected), or what replaced it (superseded)
    form VARCHAR,                      -- csv-utf8, csv-cp1257, xlsx
    processed_at TIMESTAMP NOT NULL,
    rows_loaded INTEGER,
    warnings INTEGER,
    archive_path VARCHAR);

CREATE TABLE IF NOT EXISTS audit.findings (
    delivery VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, rule VARCHAR NOT NULL,
    severity VARCHAR NOT NULL, table_name VARCHAR, column_name VARCHAR, row_count INTEGER,
    source_rows INTEGER[], message VARCHAR, recorded_at TIMESTAMP NOT NULL);
