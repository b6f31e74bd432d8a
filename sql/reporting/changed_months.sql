-- The centre-months whose deliveries changed since the last indicator build: any audit row of
-- the month added, removed or different (a new month, a correction, a rejection, a supersession).
-- Input: audit.deliveries, derived.built_deliveries (the audit as the last build saw it).
-- Deliveries whose name could not be read (centre or month NULL) move no indicator.
WITH now AS (
    SELECT centre, month, sha256, status, received_at FROM audit.deliveries
    WHERE centre IS NOT NULL AND month IS NOT NULL),
built AS (SELECT centre, month, sha256, status, received_at FROM derived.built_deliveries)
SELECT DISTINCT centre, month FROM ((FROM now EXCEPT ALL FROM built) UNION ALL (FROM built EXCEPT ALL FROM now))
ORDER BY centre, month
