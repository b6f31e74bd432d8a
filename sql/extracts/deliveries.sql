-- The deliveries one funder extract rests on: the accepted delivery of each of the project's
-- centres for every month the extract's period overlaps, with the checksum of the file.
-- Parameters: $project, $start, $end (the extract period's bounds).
SELECT d.centre,
       d.month,
       d.delivery,
       d.sha256,
       d.form,
       d.received_at,
       d.rows_loaded,
       coalesce(d.warnings, 0) AS warnings
FROM audit.deliveries d
JOIN reporting.project_centres pc ON pc.centre = d.centre AND pc.project = $project
WHERE d.status = 'accepted'
  AND d.month BETWEEN date_trunc('month', $start::DATE) AND $end::DATE
ORDER BY d.month, d.centre;
