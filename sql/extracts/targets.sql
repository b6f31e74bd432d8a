-- Target progress of one project for its funder extracts: each target against its
-- project-to-date actual at the end of every reporting period (PTD-P1, PTD-P2, ..., PTD).
-- An extract shows the rows up to its own end. Actuals are exact here; the extract
-- suppresses small ones. Every PTD-Pn is in the warehouse from the first refresh; only those
-- whose reporting period Pn has begun by the last day of data (the end of the ALL scope's last
-- month) are shown, and PTD.
-- Parameters: $project.
SELECT t.period,
       t.period_end,
       t.indicator,
       t.breakdown,
       coalesce(t.centre, 'ALL') AS centre,
       t.target,
       t.target_from,
       t.actual,
       t.achievement
FROM reporting.target_progress t
LEFT JOIN reporting.periods p ON p.project = t.project AND p.period_type = 'reporting_period'
 AND 'PTD-' || p.period = t.period
WHERE t.project = $project
  AND (t.period = 'PTD'
       OR p.period_start <= (SELECT max(period_end) FROM reporting.periods
                             WHERE project IS NULL AND period_type = 'month'))
ORDER BY t.period_end, t.period = 'PTD', t.indicator, t.breakdown NULLS FIRST, t.centre NULLS FIRST;
