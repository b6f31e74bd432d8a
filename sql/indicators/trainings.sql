-- professionals_trained (by topic).
-- indicators.md: sum of `participants` of trainings starting in T.
-- Input: derived.trainings, derived.period_months.
WITH trainings AS (
    SELECT t.project, pm.period_type, pm.period, pm.period_start, pm.period_end, t.centre, t.topic,
           t.participants
    FROM derived.trainings t
    JOIN derived.period_months pm ON pm.project IS NOT DISTINCT FROM t.project AND pm.month = t.month
    WHERE t.start_date BETWEEN pm.period_start AND pm.period_end)
SELECT 'professionals_trained' AS indicator, project, centre, period_type, period, period_start, period_end,
       CASE WHEN topic IS NULL THEN NULL ELSE 'topic=' || topic END AS breakdown, sum(participants) AS value
FROM trainings
GROUP BY GROUPING SETS ((project, centre, period_type, period, period_start, period_end, topic),
                        (project, period_type, period, period_start, period_end, topic),
                        (project, centre, period_type, period, period_start, period_end),
                        (project, period_type, period, period_start, period_end))
