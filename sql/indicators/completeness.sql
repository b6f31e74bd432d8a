-- reporting_rate, reporting_rate_on_time: the share of expected centre-months delivered (accepted)
-- and delivered on time, in percent (docs/indicators.md, "Completeness and timeliness").
-- A centre-month is expected when it is in reporting.completeness: from the centre's active_from
-- to the last ended month. Per centre and for all centres (the ALL row divides all centres'
-- accepted months by all their expected months, so a centre with more expected months weighs
-- more); for the ALL project only, since a delivery covers a centre-month, not a project.
-- Periods: the calendar months, quarters and years of the ALL scope (reporting.periods: the
-- months of data). A period gets a row when at least one month of it is expected, 0 included;
-- a quarter or year in progress counts its ended months only.
-- Input: reporting.completeness, reporting.periods. Output: the columns of reporting.indicator_values.
WITH expected AS (
    SELECT p.period_type, p.period, p.period_start, p.period_end, c.centre,
           c.status = 'accepted' AS accepted, c.on_time
    FROM reporting.periods p
    JOIN reporting.completeness c ON c.month BETWEEN p.period_start AND p.period_end
    WHERE p.project IS NULL AND p.period_type IN ('month', 'quarter', 'year'))
SELECT indicator, NULL::VARCHAR AS project, centre, period_type, period, period_start, period_end,
       NULL::VARCHAR AS breakdown, value
FROM (
    SELECT centre, period_type, period, period_start, period_end,
           100.0 * count(*) FILTER (WHERE accepted) / count(*) AS reporting_rate,
           100.0 * count(*) FILTER (WHERE on_time) / count(*) AS reporting_rate_on_time
    FROM expected
    GROUP BY GROUPING SETS ((centre, period_type, period, period_start, period_end),
                            (period_type, period, period_start, period_end)))
UNPIVOT (value FOR indicator IN (reporting_rate, reporting_rate_on_time))
