-- Values entered by hand (projects.yaml manual_values, e.g. mentor_handbooks): they appear
-- like computed ones, in every period of the project that holds their date (so project-to-date
-- periods accumulate them). A value for one centre also counts in the project's ALL-centres row.
-- Input: reporting.manual_values, reporting.periods.
SELECT v.indicator, v.project, c.centre, p.period_type, p.period, p.period_start, p.period_end,
       v.breakdown, sum(v.value) AS value
FROM reporting.manual_values v
JOIN reporting.periods p ON p.project = v.project AND v.date BETWEEN p.period_start AND p.period_end
CROSS JOIN LATERAL (SELECT unnest(CASE WHEN v.centre IS NULL THEN [NULL] ELSE [v.centre, NULL] END) AS centre) c
GROUP BY ALL
