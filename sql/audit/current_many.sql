-- The accepted version of each centre-month of audit_keys (centre, month), if any.
SELECT centre, month, sha256, delivery
FROM audit.deliveries JOIN audit_keys k USING (centre, month)
WHERE status = 'accepted'
QUALIFY row_number() OVER (PARTITION BY centre, month ORDER BY processed_at DESC) = 1;
