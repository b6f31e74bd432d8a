-- Was this very delivery (name, bytes, arrival) already recorded as rejected? (a repeated run)
SELECT count(*) AS n
FROM audit.deliveries
WHERE delivery = $delivery AND sha256 = $sha256 AND received_at = $received_at AND status = 'rejected';
