-- families_enrolled, families_exited (by exit_reason), families_active_end: the caseload's register.
-- indicators.md:
--   families_enrolled: families served in T whose enrolled_on lies in T;
--   families_exited: families whose exited_on lies in T and that were served within the scope on
--     or before exited_on;
--   families_active_end: families listed in the delivery of the month holding T's end, not exited
--     on or before T's end, and (for a project scope) served by the project on or before T's end.
-- Input: derived.served, derived.served_days, derived.scope_periods, derived.period_months, core.families.
WITH
enrolled AS (
    SELECT DISTINCT s.project, s.period_type, s.period, s.period_start, s.period_end, s.centre, s.family_ref
    FROM derived.served s
    JOIN core.families f ON f.centre = s.centre AND f.month = s.month AND f.family_ref = s.family_ref
    WHERE f.enrolled_on BETWEEN s.period_start AND s.period_end),
first_served AS (  -- per scope project: the first day each family was served
    SELECT project, centre, family_ref, min(date) AS first_day
    FROM derived.served_days GROUP BY ALL),
exits AS (
    SELECT DISTINCT centre, family_ref, exited_on, exit_reason
    FROM core.families WHERE exited_on IS NOT NULL),
exited AS (
    SELECT DISTINCT fs.project, pm.period_type, pm.period, pm.period_start, pm.period_end, e.centre,
           e.family_ref, e.exit_reason
    FROM exits e
    JOIN first_served fs ON fs.centre = e.centre AND fs.family_ref = e.family_ref AND fs.first_day <= e.exited_on
    JOIN derived.period_months pm ON pm.project IS NOT DISTINCT FROM fs.project
     AND pm.month = date_trunc('month', e.exited_on)
    WHERE e.exited_on BETWEEN pm.period_start AND pm.period_end),
active_end AS (
    SELECT DISTINCT p.project, p.period_type, p.period, p.period_start, p.period_end, f.centre, f.family_ref
    FROM reporting.periods p
    JOIN core.families f ON f.month = date_trunc('month', p.period_end)
     AND (f.exited_on IS NULL OR f.exited_on > p.period_end)
    LEFT JOIN first_served fs ON fs.project = p.project AND fs.centre = f.centre AND fs.family_ref = f.family_ref
    WHERE p.project IS NULL OR fs.first_day <= p.period_end)
SELECT 'families_enrolled' AS indicator, project, centre, period_type, period, period_start, period_end,
       NULL AS breakdown, count(DISTINCT (centre, family_ref)) AS value
FROM enrolled
GROUP BY GROUPING SETS ((project, centre, period_type, period, period_start, period_end),
                        (project, period_type, period, period_start, period_end))
UNION ALL
SELECT 'families_exited', project, centre, period_type, period, period_start, period_end,
       breakdown, count(DISTINCT (centre, family_ref))
FROM exited, LATERAL (SELECT unnest([NULL, 'exit_reason=' || exit_reason]) AS breakdown)
GROUP BY GROUPING SETS ((project, centre, period_type, period, period_start, period_end, breakdown),
                        (project, period_type, period, period_start, period_end, breakdown))
UNION ALL
SELECT 'families_active_end', project, centre, period_type, period, period_start, period_end,
       NULL, count(DISTINCT (centre, family_ref))
FROM active_end
GROUP BY GROUPING SETS ((project, centre, period_type, period, period_start, period_end),
                        (project, period_type, period, period_start, period_end))
