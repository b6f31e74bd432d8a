-- families_served, children_served (with breakdowns) and their monthly averages.
-- indicators.md: a family is served in T when, in T and within the scope, it had a service
-- contact, attended a group session or took part in an event. Its children are those listed
-- with it in the delivery of a month in which it was served in T. Unique counts per scope and
-- period (centre rows and the ALL-centres row are counted separately, never summed).
-- Input: derived.served (family x period x month served), core.families, core.children,
-- derived.scope_periods. Output: the columns of reporting.indicator_values.
-- Counting: `families` and `children` below hold one row per family (child) and period, so
-- count(*) over them is the distinct count, for a centre and for all centres alike; in `monthly`
-- a child appears once per family-month (child_ref is unique in a delivery's children table).
WITH
families AS (      -- each family served in T, with its attributes from the latest month served in T
    SELECT s.project, s.period_type, s.period, s.period_start, s.period_end, s.centre, s.family_ref,
           arg_max(f.territory_type, s.month) AS territory_type,
           arg_max(f.target_group, s.month) AS target_group
    FROM derived.served s
    LEFT JOIN core.families f ON f.centre = s.centre AND f.month = s.month AND f.family_ref = s.family_ref
    GROUP BY ALL),
children AS (      -- each child listed with a served family in a month it was served in T
    SELECT s.project, s.period_type, s.period, s.period_start, s.period_end, s.centre, c.child_ref,
           arg_max(c.sex, s.month) AS sex,
           arg_max(c.birth_year, s.month) AS birth_year
    FROM derived.served s
    JOIN core.children c ON c.centre = s.centre AND c.month = s.month AND c.family_ref = s.family_ref
    GROUP BY ALL),
counts AS (
    SELECT 'families_served' AS indicator, project, centre, period_type, period, period_start, period_end,
           breakdown, count(*) AS value
    FROM families f, LATERAL (SELECT unnest([NULL, 'territory_type=' || territory_type,
                                             'target_group=' || target_group]) AS breakdown)
    GROUP BY GROUPING SETS ((project, centre, period_type, period, period_start, period_end, breakdown),
                            (project, period_type, period, period_start, period_end, breakdown))
    UNION ALL
    SELECT 'children_served', project, centre, period_type, period, period_start, period_end,
           breakdown, count(*)
    FROM children c, LATERAL (SELECT unnest([NULL, 'sex=' || sex, 'age_band=' ||
        CASE WHEN year(period_end) - birth_year <= 6 THEN '0-6'
             WHEN year(period_end) - birth_year <= 12 THEN '7-12'
             WHEN year(period_end) - birth_year <= 17 THEN '13-17' ELSE '18-24' END]) AS breakdown)
    GROUP BY GROUPING SETS ((project, centre, period_type, period, period_start, period_end, breakdown),
                            (project, period_type, period, period_start, period_end, breakdown))),
monthly AS (       -- per period and month of it: families and children served in that month ∩ T
                   -- (a served family may have no children listed: count only real children)
    SELECT s.project, s.centre, s.period_type, s.period, s.month,
           count(DISTINCT (s.centre, s.family_ref)) AS families,
           count(c.child_ref) AS children
    FROM derived.served s
    LEFT JOIN core.children c ON c.centre = s.centre AND c.month = s.month AND c.family_ref = s.family_ref
    GROUP BY GROUPING SETS ((s.project, s.centre, s.period_type, s.period, s.month),
                            (s.project, s.period_type, s.period, s.month))),
averages AS (      -- mean over the period's months within the scope's life (months without service count 0)
    SELECT sp.project, sp.centre, sp.period_type, sp.period, sp.period_start, sp.period_end,
           coalesce(sum(m.families), 0) / sp.live_months AS families,
           coalesce(sum(m.children), 0) / sp.live_months AS children
    FROM derived.scope_periods sp
    LEFT JOIN monthly m ON m.project IS NOT DISTINCT FROM sp.project AND m.centre IS NOT DISTINCT FROM sp.centre
     AND m.period_type = sp.period_type AND m.period = sp.period
    WHERE sp.live_months > 0
    GROUP BY sp.project, sp.centre, sp.period_type, sp.period, sp.period_start, sp.period_end, sp.live_months)
-- Headline families/children rows for every period of every scope, 0 included.
SELECT h.indicator, sp.project, sp.centre, sp.period_type, sp.period, sp.period_start, sp.period_end,
       NULL AS breakdown, coalesce(c.value, 0) AS value
FROM derived.scope_periods sp
CROSS JOIN (VALUES ('families_served'), ('children_served')) h(indicator)
LEFT JOIN counts c ON c.indicator = h.indicator AND c.breakdown IS NULL
 AND c.project IS NOT DISTINCT FROM sp.project AND c.centre IS NOT DISTINCT FROM sp.centre
 AND c.period_type = sp.period_type AND c.period = sp.period
UNION ALL
SELECT indicator, project, centre, period_type, period, period_start, period_end, breakdown, value
FROM counts WHERE breakdown IS NOT NULL
UNION ALL
SELECT 'families_served_monthly_avg', project, centre, period_type, period, period_start, period_end, NULL, families
FROM averages WHERE families > 0
UNION ALL
SELECT 'children_served_monthly_avg', project, centre, period_type, period, period_start, period_end, NULL, children
FROM averages WHERE children > 0
