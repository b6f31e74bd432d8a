-- One finding of a delivery: rule, where, how many rows and which; never a value.
INSERT INTO audit.findings
    (delivery, sha256, rule, severity, table_name, column_name, row_count, source_rows, message, recorded_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);
