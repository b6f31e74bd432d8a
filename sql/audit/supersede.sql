-- The accepted version of a centre-month is replaced by a correction.
UPDATE audit.deliveries
SET status = 'superseded', reason = $reason, processed_at = $processed_at
WHERE centre = $centre AND month = $month AND status = 'accepted';
