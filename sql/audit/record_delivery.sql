-- One row of audit.deliveries: what became of a delivery (accepted, rejected, superseded, unchanged).
INSERT INTO audit.deliveries
    (delivery, centre, month, received_at, sha256, status, reason, form, processed_at,
     rows_loaded, warnings, archive_path)
VALUES ($delivery, $centre, $month, $received_at, $sha256, $status, $reason, $form, $processed_at,
        $rows_loaded, $warnings, $archive_path);
