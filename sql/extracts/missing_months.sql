-- Months one funder extract should rest on but has no accepted delivery for: every month of
-- the extract's period that lies in the project's window, from each project centre's first
-- expected month (centres.yaml active_from) up to the last month any centre delivered.
-- Parameters: $project, $start, $end.
WITH expected AS (
    SELECT pc.centre, m.month::DATE AS month
    FROM reporting.project_centres pc
    JOIN reporting.projects p ON p.project = pc.project
    JOIN reporting.centres c ON c.centre = pc.centre
    CROSS JOIN LATERAL (
        SELECT unnest(generate_series(
            greatest(date_trunc('month', $start::DATE), date_trunc('month', p.start_date),
                     date_trunc('month', c.active_from)),
            least($end::DATE, p.end_date,
                  (SELECT max(month) FROM audit.deliveries WHERE status = 'accepted')),
            INTERVAL 1 MONTH)) AS month) m
    WHERE pc.project = $project)
SELECT e.centre, e.month
FROM expected e
WHERE NOT EXISTS (SELECT 1 FROM audit.deliveries d
                  WHERE d.status = 'accepted' AND d.centre = e.centre AND d.month = e.month)
ORDER BY e.month, e.centre;
