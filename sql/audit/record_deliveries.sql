-- Rows of audit.deliveries from audit_rows (the same columns, in this order).
INSERT INTO audit.deliveries
    (delivery, centre, month, received_at, sha256, status, reason, form, processed_at,
     rows_loaded, warnings, archive_path)
SELECT delivery, centre, CAST(month AS DATE), CAST(received_at AS TIMESTAMP), sha256, status, reason,
       form, CAST(processed_at AS TIMESTAMP), CAST(rows_loaded AS INTEGER), CAST(warnings AS INTEGER),
       archive_path
FROM audit_rows;
