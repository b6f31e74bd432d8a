-- groups, group_sessions, group_participants, group_completers (by group_type).
-- indicators.md: groups = distinct group_codes with a session in T; group_sessions = sessions
-- held in T; group_participants = distinct participants attending in T (a family's adults
-- count as one participant, each child as one); group_completers = participants whose attended
-- sessions of one group_code (within the scope) reach the group type's full course, with the
-- reaching session in T. Full courses: derived.full_course (contract: violence_survivors 10).
-- Input: derived.sessions, derived.attendance, derived.period_months, derived.full_course.
WITH
sessions AS (
    SELECT s.project, pm.period_type, pm.period, pm.period_start, pm.period_end, s.centre,
           s.session_id, s.group_code, s.group_type
    FROM derived.sessions s
    JOIN derived.period_months pm ON pm.project IS NOT DISTINCT FROM s.project AND pm.month = s.month
    WHERE s.date BETWEEN pm.period_start AND pm.period_end),
attending AS (
    SELECT a.project, pm.period_type, pm.period, pm.period_start, pm.period_end, a.centre,
           a.participant, a.group_type
    FROM derived.attendance a
    JOIN derived.period_months pm ON pm.project IS NOT DISTINCT FROM a.project AND pm.month = a.month
    WHERE a.date BETWEEN pm.period_start AND pm.period_end),
reached AS (       -- the day each participant's attended sessions of a group reach the full course
    SELECT project, centre, group_code, group_type, participant, date, month
    FROM (SELECT a.*, fc.sessions AS full_course,
                 row_number() OVER (PARTITION BY a.project, a.centre, a.group_code, a.participant
                                    ORDER BY a.date, a.session_id) AS n
          FROM derived.attendance a JOIN derived.full_course fc USING (group_type))
    WHERE n = full_course),
completers AS (
    SELECT r.project, pm.period_type, pm.period, pm.period_start, pm.period_end, r.centre,
           r.participant, r.group_type
    FROM reached r
    JOIN derived.period_months pm ON pm.project IS NOT DISTINCT FROM r.project AND pm.month = r.month
    WHERE r.date BETWEEN pm.period_start AND pm.period_end),
items AS (         -- what each indicator counts, one row per thing counted (duplicates allowed)
    SELECT 'groups' AS indicator, project, period_type, period, period_start, period_end, centre, group_type,
           group_code AS item FROM sessions
    UNION ALL
    SELECT 'group_sessions', project, period_type, period, period_start, period_end, centre, group_type,
           session_id FROM sessions
    UNION ALL
    SELECT 'group_participants', project, period_type, period, period_start, period_end, centre, group_type,
           participant FROM attending
    UNION ALL
    SELECT 'group_completers', project, period_type, period, period_start, period_end, centre, group_type,
           participant FROM completers),
by_type AS (       -- per centre and all centres, per group type and headline (group_type NULL)
    SELECT indicator, project, centre, period_type, period, period_start, period_end, group_type,
           count(DISTINCT (centre, item)) AS value
    FROM items
    GROUP BY GROUPING SETS ((indicator, project, centre, period_type, period, period_start, period_end, group_type),
                            (indicator, project, period_type, period, period_start, period_end, group_type),
                            (indicator, project, centre, period_type, period, period_start, period_end),
                            (indicator, project, period_type, period, period_start, period_end)))
SELECT indicator, project, centre, period_type, period, period_start, period_end,
       CASE WHEN group_type IS NULL THEN NULL ELSE 'group_type=' || group_type END AS breakdown, value
FROM by_type
