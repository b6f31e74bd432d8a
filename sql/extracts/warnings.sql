-- Validation warnings on the deliveries one funder extract rests on (accepted deliveries:
-- warnings never block a delivery, but the funder's reader should know about them).
-- Only what the warehouse computes: rule ids, table and column names from the contract (or
-- "column N"), counts. Never a finding's message: it may describe what a centre sent.
-- Parameters: $project, $start, $end.
SELECT d.centre,
       d.month,
       f.delivery,
       f.rule,
       f.table_name,
       f.column_name,
       f.row_count
FROM audit.findings f
JOIN audit.deliveries d ON d.delivery = f.delivery AND d.sha256 = f.sha256 AND d.status = 'accepted'
JOIN reporting.project_centres pc ON pc.centre = d.centre AND pc.project = $project
WHERE f.severity = 'warning'
  AND d.month BETWEEN date_trunc('month', $start::DATE) AND $end::DATE
ORDER BY d.month, d.centre, f.rule;
