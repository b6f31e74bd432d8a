-- What each delivery of a batch sees of its centre's other months: core, overlaid with the
-- batch's deliveries queued before it (as if they were loaded). Needs v_deliveries and the
-- batch's staged tables (frames.stage).
--
-- v_seen: for each delivery and each month of its centre, the version it sees: the accepted one
-- in core (ord -1) or the latest delivery of the batch queued before it (ord = its _delivery).
CREATE OR REPLACE TEMP TABLE v_seen AS
WITH versions AS (
    SELECT DISTINCT centre, month, -1 AS ord
    FROM audit.deliveries
    WHERE status = 'accepted' AND centre IN (SELECT centre FROM v_deliveries)
    UNION ALL
    SELECT centre, month, _delivery FROM v_deliveries
)
SELECT d._delivery, v.month, max(v.ord) AS ord
FROM v_deliveries d JOIN versions v ON v.centre = d.centre AND v.ord < d._delivery
GROUP BY ALL;

-- v_prev_families: the family listings of the centre's earlier months, as each delivery sees them.
CREATE OR REPLACE TEMP TABLE v_prev_families AS
SELECT s._delivery, c.family_ref, c.enrolled_on, c.exited_on, c.month, CAST(c.source_row AS BIGINT) AS _order
FROM v_seen s
JOIN v_deliveries d USING (_delivery)
JOIN core.families c ON c.centre = d.centre AND c.month = s.month
WHERE s.ord = -1 AND s.month < d.month
UNION ALL
SELECT s._delivery, x.family_ref, x.enrolled_on, x.exited_on, s.month, x._row
FROM v_seen s
JOIN v_deliveries d USING (_delivery)
JOIN v_families x ON x._delivery = s.ord
WHERE s.ord >= 0 AND s.month < d.month;
