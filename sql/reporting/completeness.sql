-- reporting.completeness: who has delivered, and when (warehouse.md, "What analysts query";
-- docs/indicators.md, "Completeness and timeliness").
-- One row per centre x month, from the centre's active_from month to the last ended month: the
-- month before the refresh's day in Riga (getvariable('sos_today'), set by
-- sos_pipeline/indicators/build.py from ingest.intake.today(), which SOS_TODAY overrides in tests).
-- Input: reporting.centres (active_from, due_day), audit.deliveries.
-- * Deliveries whose name could not be read or was withheld have centre NULL: not counted. A
--   delivery still waiting in the load queue is not in the audit yet: not counted either.
-- * The first accepted version is the earliest received version that was accepted: it is
--   `accepted` still, or `superseded` by a correction (the month stays covered).
-- * audit.deliveries keeps times in UTC; due_on is a day in Riga, so on_time compares the Riga
--   date of received_at. It is when the refresh took the delivery from the inbox.
-- * The audit keeps one row per version whose processed_at is when its *current* status was
--   recorded: for a superseded version, when the correction replaced it. So accepted_at is
--   processed_at while the first accepted version is still the accepted one, and its received_at
--   once it has been superseded (a refresh loads in the same run what it takes from the inbox).
CREATE OR REPLACE TABLE reporting.completeness (
    centre VARCHAR NOT NULL, month DATE NOT NULL, due_on DATE NOT NULL, first_received_at TIMESTAMP,
    accepted_at TIMESTAMP, status VARCHAR NOT NULL, on_time BOOLEAN NOT NULL);

INSERT INTO reporting.completeness
WITH expected AS (
    SELECT c.centre, m.month::DATE AS month,
           ((m.month + INTERVAL 1 MONTH)::DATE + (coalesce(c.due_day, 10) - 1))::DATE AS due_on
    FROM reporting.centres c,
         LATERAL (SELECT unnest(generate_series(
             date_trunc('month', c.active_from)::TIMESTAMP,
             date_trunc('month', getvariable('sos_today')::DATE)::TIMESTAMP - INTERVAL 1 MONTH,
             INTERVAL 1 MONTH)) AS month) m),
received AS (      -- every delivery of a known centre-month, whatever became of it
    SELECT centre, month, received_at, processed_at, status
    FROM audit.deliveries
    WHERE centre IS NOT NULL AND month IS NOT NULL),
first_received AS (
    SELECT centre, month, min(received_at) AS first_received_at
    FROM received GROUP BY centre, month),
first_accepted AS (
    SELECT centre, month, received_at,
           CASE status WHEN 'accepted' THEN processed_at ELSE received_at END AS accepted_at
    FROM received
    WHERE status IN ('accepted', 'superseded')
    QUALIFY row_number() OVER (PARTITION BY centre, month ORDER BY received_at, processed_at) = 1)
SELECT e.centre, e.month, e.due_on, r.first_received_at, a.accepted_at,
       CASE WHEN a.centre IS NOT NULL THEN 'accepted'
            WHEN r.centre IS NOT NULL THEN 'rejected'
            ELSE 'missing' END AS status,
       coalesce(timezone('Europe/Riga', a.received_at AT TIME ZONE 'UTC')::DATE <= e.due_on, false) AS on_time
FROM expected e
LEFT JOIN first_received r ON r.centre = e.centre AND r.month = e.month
LEFT JOIN first_accepted a ON a.centre = e.centre AND a.month = e.month
ORDER BY e.centre, e.month;

COMMENT ON TABLE reporting.completeness IS 'Who has delivered: one row per centre and month from the centre''s first expected month (centres.yaml active_from) to the last ended month (the month before the refresh''s day, Riga time), with its due day, when it was first received, when it was first accepted, and whether that was on time. Deliveries whose name could not be read (centre NULL) are not counted.';
COMMENT ON COLUMN reporting.completeness.centre IS 'Centre code.';
COMMENT ON COLUMN reporting.completeness.month IS 'First day of the month the delivery covers.';
COMMENT ON COLUMN reporting.completeness.due_on IS 'The day the month''s delivery is due: the centre''s due_day (default 10) of the next month.';
COMMENT ON COLUMN reporting.completeness.first_received_at IS 'When the first delivery for this centre-month was received (taken from the inbox), whatever became of it (UTC, as in audit.deliveries); NULL when nothing was received.';
COMMENT ON COLUMN reporting.completeness.accepted_at IS 'When the first accepted version was processed (UTC); once a correction has superseded that version, when it was received (the audit keeps the time of its supersession instead). NULL when no version was accepted.';
COMMENT ON COLUMN reporting.completeness.status IS 'accepted (a version was accepted, including one later superseded by a correction), rejected (deliveries received, none accepted yet) or missing (nothing received).';
COMMENT ON COLUMN reporting.completeness.on_time IS 'True when the month is accepted and its first accepted version was received on or before due_on (the Riga date of its received_at). False otherwise: late, rejected or missing.';
