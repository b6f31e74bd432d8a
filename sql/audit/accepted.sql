-- The sha256 of the accepted version of every centre-month.
SELECT centre, month, sha256
FROM audit.deliveries
WHERE status = 'accepted';
