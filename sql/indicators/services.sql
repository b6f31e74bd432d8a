-- families_by_service, contacts, service_hours: individual services to families.
-- indicators.md: families_by_service = distinct families with a contact of that service in T
-- (always by service); contacts = number of service contacts in T; service_hours = sum of
-- minutes / 60 of contacts in T (material aid has no minutes: 0 hours).
-- Input: derived.services (contacts in scope), derived.period_months.
WITH contacts AS (
    SELECT s.project, pm.period_type, pm.period, pm.period_start, pm.period_end, s.centre,
           s.family_ref, s.service, s.minutes
    FROM derived.services s
    JOIN derived.period_months pm ON pm.project IS NOT DISTINCT FROM s.project AND pm.month = s.month
    WHERE s.date BETWEEN pm.period_start AND pm.period_end)
SELECT 'families_by_service' AS indicator, project, centre, period_type, period, period_start, period_end,
       'service=' || service AS breakdown, count(DISTINCT (centre, family_ref)) AS value
FROM contacts
GROUP BY GROUPING SETS ((project, centre, period_type, period, period_start, period_end, service),
                        (project, period_type, period, period_start, period_end, service))
UNION ALL
SELECT indicator, project, centre, period_type, period, period_start, period_end, breakdown, value
FROM (
    SELECT project, centre, period_type, period, period_start, period_end,
           CASE WHEN service IS NULL THEN NULL ELSE 'service=' || service END AS breakdown,
           count(*) AS contacts, coalesce(sum(minutes), 0) / 60 AS service_hours
    FROM contacts
    GROUP BY GROUPING SETS ((project, centre, period_type, period, period_start, period_end, service),
                            (project, period_type, period, period_start, period_end, service),
                            (project, centre, period_type, period, period_start, period_end),
                            (project, period_type, period, period_start, period_end)))
UNPIVOT (value FOR indicator IN (contacts, service_hours))
