-- What the indicator build just made was made from, for the next build to compare with
-- (sos_pipeline/indicators/incremental.py). Runs in the build's last transaction.
CREATE OR REPLACE TABLE derived.built_deliveries AS
SELECT centre, month, sha256, status, received_at FROM audit.deliveries
WHERE centre IS NOT NULL AND month IS NOT NULL;
COMMENT ON TABLE derived.built_deliveries IS 'The audit''s deliveries as the last indicator build saw them: the next build recomputes only the periods the centre-months that differ can touch.';
COMMENT ON COLUMN derived.built_deliveries.centre IS 'Centre code.';
COMMENT ON COLUMN derived.built_deliveries.month IS 'First day of the month covered.';
COMMENT ON COLUMN derived.built_deliveries.sha256 IS 'sha256 of the delivery version.';
COMMENT ON COLUMN derived.built_deliveries.status IS 'Its status then.';
COMMENT ON COLUMN derived.built_deliveries.received_at IS 'When it was received.';

CREATE OR REPLACE TABLE derived.month_since AS {month_since};
COMMENT ON TABLE derived.month_since IS 'For each centre-month of core, the earliest day its delivery can move an indicator (sql/reporting/month_since.sql), as of the last indicator build: a correction recomputes the periods ending on or after the earlier of its old and new day.';
COMMENT ON COLUMN derived.month_since.centre IS 'Centre code.';
COMMENT ON COLUMN derived.month_since.month IS 'First day of the month covered.';
COMMENT ON COLUMN derived.month_since.since IS 'The month''s first day, or an earlier activity or exit date listed in it.';
