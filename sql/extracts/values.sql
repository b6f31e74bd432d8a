-- Every indicator value one funder extract shows: the extract's period, the calendar months
-- it overlaps (the monthly series) and the project-to-date periods up to it (target
-- progress). Exact counts: the extract suppresses small cells afterwards.
-- Parameters: $project (project code), $periods (list of period labels).
SELECT v.indicator,
       v.breakdown,
       coalesce(v.centre, 'ALL') AS centre,
       v.period,
       v.period_type,
       v.period_start,
       v.period_end,
       v.value
FROM reporting.indicator_values v
WHERE v.project = $project
  AND list_contains($periods, v.period)
ORDER BY v.period_start, v.period, v.indicator, v.breakdown NULLS FIRST, centre;
