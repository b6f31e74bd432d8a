-- events, event_families, event_adults, event_children (by event_type).
-- indicators.md: events starting in T; distinct families taking part in events starting in T;
-- sums of adults / children over the participation rows of events starting in T.
-- Input: derived.events, derived.participants, derived.period_months.
WITH
events AS (
    SELECT e.project, pm.period_type, pm.period, pm.period_start, pm.period_end, e.centre, e.event_id,
           e.event_type
    FROM derived.events e
    JOIN derived.period_months pm ON pm.project IS NOT DISTINCT FROM e.project AND pm.month = e.month
    WHERE e.start_date BETWEEN pm.period_start AND pm.period_end),
participants AS (
    SELECT p.project, pm.period_type, pm.period, pm.period_start, pm.period_end, p.centre, p.family_ref,
           p.event_type, p.adults, p.children
    FROM derived.participants p
    JOIN derived.period_months pm ON pm.project IS NOT DISTINCT FROM p.project AND pm.month = p.month
    WHERE p.start_date BETWEEN pm.period_start AND pm.period_end),
by_type AS (
    SELECT project, centre, period_type, period, period_start, period_end, event_type,
           count(DISTINCT (centre, event_id)) AS events, NULL AS event_families,
           NULL AS event_adults, NULL AS event_children
    FROM events
    GROUP BY GROUPING SETS ((project, centre, period_type, period, period_start, period_end, event_type),
                            (project, period_type, period, period_start, period_end, event_type),
                            (project, centre, period_type, period, period_start, period_end),
                            (project, period_type, period, period_start, period_end))
    UNION ALL
    SELECT project, centre, period_type, period, period_start, period_end, event_type, NULL,
           count(DISTINCT (centre, family_ref)), sum(adults), sum(children)
    FROM participants
    GROUP BY GROUPING SETS ((project, centre, period_type, period, period_start, period_end, event_type),
                            (project, period_type, period, period_start, period_end, event_type),
                            (project, centre, period_type, period, period_start, period_end),
                            (project, period_type, period, period_start, period_end)))
SELECT indicator, project, centre, period_type, period, period_start, period_end,
       CASE WHEN event_type IS NULL THEN NULL ELSE 'event_type=' || event_type END AS breakdown, value
FROM by_type
UNPIVOT (value FOR indicator IN (events, event_families, event_adults, event_children))
