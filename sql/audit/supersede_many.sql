-- The accepted versions of the centre-months of audit_superseded (centre, month, reason,
-- processed_at) are replaced by corrections.
UPDATE audit.deliveries d
SET status = 'superseded', reason = s.reason, processed_at = s.processed_at
FROM audit_superseded s
WHERE d.centre = s.centre AND d.month = s.month AND d.status = 'accepted';
