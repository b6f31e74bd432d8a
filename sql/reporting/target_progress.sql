-- reporting.target_progress: each target against its project-to-date actual at the end of every
-- reporting period (PTD-P1..PTD-Pn, and PTD). indicators.md, "Targets": progress is the
-- indicator's PTD-Pn value against the target in force at that period's end, i.e. the revision
-- with the latest valid_from on or before period_end.
-- Input: reporting.targets, reporting.periods, reporting.indicator_values.
DELETE FROM reporting.target_progress;
INSERT INTO reporting.target_progress
WITH in_force AS (
    SELECT t.project, t.indicator, t.breakdown, t.centre, p.period, p.period_end,
           arg_max(t.value, t.valid_from) AS target, max(t.valid_from) AS target_from
    FROM reporting.targets t
    JOIN reporting.periods p ON p.project = t.project AND p.period_type = 'project_to_date'
     AND t.valid_from <= p.period_end
    GROUP BY ALL)
SELECT f.project, f.indicator, f.breakdown, f.centre, f.period, f.period_end, f.target, f.target_from,
       coalesce(v.value, 0) AS actual,
       CASE WHEN f.target <> 0 THEN coalesce(v.value, 0) / f.target END AS achievement
FROM in_force f
LEFT JOIN reporting.indicator_values v ON v.project = f.project AND v.indicator = f.indicator
 AND v.breakdown IS NOT DISTINCT FROM f.breakdown AND v.centre IS NOT DISTINCT FROM f.centre
 AND v.period_type = 'project_to_date' AND v.period = f.period
ORDER BY f.project, f.indicator, f.breakdown NULLS FIRST, f.centre NULLS FIRST, f.period_end, f.period;
