-- What a run did, by status: every audit row it wrote or changed (processed_at from the
-- run's start). The CLI prints these numbers and the run's tags carry them.
SELECT status, count(*) AS deliveries
FROM audit.deliveries
WHERE processed_at >= $since
GROUP BY status;
