-- The accepted version of a centre-month, if any.
SELECT sha256, archive_path, received_at, delivery, form
FROM audit.deliveries
WHERE centre = $centre AND month = $month AND status = 'accepted'
ORDER BY processed_at DESC
LIMIT 1;
