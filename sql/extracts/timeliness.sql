-- Who delivered the months one funder extract rests on, and when: every month of the extract's
-- period that lies in the project's window, for each project centre from its first expected month
-- (centres.yaml active_from) up to the last month any centre delivered, as reporting.completeness
-- has it: on time (the first accepted version received by the due day), late (accepted, but
-- received after it), or missing (no accepted delivery: nothing received, or only rejected ones).
-- The last month any centre delivered bounds it, not today: an extract does not change while no
-- delivery arrives.
-- Parameters: $project, $start, $end (the extract period's bounds).
SELECT c.centre,
       c.month,
       c.due_on,
       timezone('Europe/Riga', c.accepted_at AT TIME ZONE 'UTC')::DATE AS accepted_on,
       CASE WHEN c.on_time THEN 'on_time'
            WHEN c.status = 'accepted' THEN 'late'
            ELSE 'missing' END AS timeliness
FROM reporting.completeness c
JOIN reporting.project_centres pc ON pc.centre = c.centre AND pc.project = $project
JOIN reporting.projects p ON p.project = pc.project
WHERE c.month BETWEEN greatest(date_trunc('month', $start::DATE), date_trunc('month', p.start_date))
                  AND least($end::DATE, p.end_date)
  AND c.month <= (SELECT max(month) FROM audit.deliveries WHERE status = 'accepted')
ORDER BY c.month, c.centre;
