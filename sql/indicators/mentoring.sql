-- mentoring_pairs, mentors.
-- indicators.md: distinct pairs active in T (started on or before T's end, not ended before
-- T's start); distinct mentors of those pairs.
-- A pair no delivery has ended yet (ended_on NULL) is known to be active up to the last day of
-- the last month of data, not beyond: a reporting period that has not begun by then (they all
-- exist from the first refresh) has no active pairs yet.
-- Input: derived.pairs (one row per pair and scope project), reporting.periods, core.families.
WITH data_end AS (SELECT last_day(max(month)) AS last_day FROM core.families),
active AS (
    SELECT m.project, p.period_type, p.period, p.period_start, p.period_end, m.centre, m.pair_id, m.mentor_ref
    FROM derived.pairs m
    CROSS JOIN data_end d
    JOIN reporting.periods p ON p.project IS NOT DISTINCT FROM m.project
     AND m.started_on <= p.period_end AND coalesce(m.ended_on, d.last_day) >= p.period_start)
SELECT indicator, project, centre, period_type, period, period_start, period_end, NULL AS breakdown, value
FROM (
    SELECT project, centre, period_type, period, period_start, period_end,
           count(DISTINCT (centre, pair_id)) AS mentoring_pairs,
           count(DISTINCT (centre, mentor_ref)) AS mentors
    FROM active
    GROUP BY GROUPING SETS ((project, centre, period_type, period, period_start, period_end),
                            (project, period_type, period, period_start, period_end)))
UNPIVOT (value FOR indicator IN (mentoring_pairs, mentors))
