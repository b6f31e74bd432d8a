-- Target progress shown in one funder extract: every project-to-date period ending on or
-- before the extract's end (PTD-P1, PTD-P2, ...), and PTD itself when the extract reaches
-- the project's end. Actuals are exact here; the extract suppresses small ones.
-- Parameters: $project, $end (the extract period's last day), $with_ptd (boolean).
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
  AND ((t.period LIKE 'PTD-P%' AND t.period_end <= $end) OR (t.period = 'PTD' AND $with_ptd))
ORDER BY t.period_end, t.period = 'PTD', t.indicator, t.breakdown NULLS FIRST, t.centre NULLS FIRST;
