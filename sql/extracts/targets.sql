-- Target progress of one project for its funder extracts: each target against its
-- project-to-date actual at the end of every reporting period (PTD-P1, PTD-P2, ..., PTD).
-- An extract shows the rows up to its own end. Actuals are exact here; the extract
-- suppresses small ones.
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
WHERE t.project = $project
ORDER BY t.period_end, t.period = 'PTD', t.indicator, t.breakdown NULLS FIRST, t.centre NULLS FIRST;
