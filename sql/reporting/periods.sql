-- Periods and scopes (indicators.md, "Scope" and "Periods").
-- Input: reporting.centres, reporting.projects, reporting.project_centres, core.families (data range).
-- Output: reporting.periods, derived.period_months, derived.scopes, derived.scope_periods.
-- reporting.periods always holds every period. derived.period_months and derived.scope_periods
-- hold the periods this build computes: those ending on or after getvariable('sos_since')
-- (sos_pipeline/indicators/build.py sets it for a build that recomputes only what a change of
-- some centre-months can touch; NULL: every period).

-- Calendar months of the data, from the first delivered month (or the first project start,
-- if earlier) to the last delivered month.
CREATE OR REPLACE TEMP TABLE data_months AS
WITH bounds AS (
    SELECT least(min(f.month), (SELECT date_trunc('month', min(start_date)) FROM reporting.projects))::DATE AS first_month,
           min(f.month) AS first_data_month, max(f.month) AS last_month
    FROM core.families f)
SELECT unnest(generate_series(first_month, last_month, INTERVAL 1 MONTH))::DATE AS month,
       first_data_month, last_month
FROM bounds WHERE last_month IS NOT NULL;

CREATE OR REPLACE TEMP TABLE calendar AS
SELECT DISTINCT 'month' AS period_type, strftime(month, '%Y-%m') AS period,
       month AS period_start, last_day(month) AS period_end, first_data_month, last_month
FROM data_months
UNION ALL
SELECT DISTINCT 'quarter', strftime(month, '%Y') || '-Q' || quarter(month),
       date_trunc('quarter', month)::DATE, last_day(date_trunc('quarter', month) + INTERVAL 2 MONTH),
       first_data_month, last_month
FROM data_months
UNION ALL
SELECT DISTINCT 'year', strftime(month, '%Y'), date_trunc('year', month)::DATE,
       make_date(year(month), 12, 31), first_data_month, last_month
FROM data_months;

-- Reporting periods P1..Pn: consecutive spans of reporting_months from the start date,
-- the last one ending on the project's end date. They come from projects.yaml alone, never from
-- the data (indicators.md, "Periods"): every Pn, PTD-Pn and PTD exists from the first refresh,
-- so the period the data ends in shows its figures so far and the later ones 0.
CREATE OR REPLACE TEMP TABLE reporting_periods AS
WITH numbered AS (
    SELECT p.project, p.start_date, p.end_date, k,
           (p.start_date + to_months(p.reporting_months * (k - 1)))::DATE AS period_start,
           least((p.start_date + to_months(p.reporting_months * k))::DATE - 1, p.end_date) AS period_end
    FROM reporting.projects p, range(1, 1000) AS r(k))
SELECT * FROM numbered WHERE period_start <= end_date;

DELETE FROM reporting.periods;
INSERT INTO reporting.periods
-- The ALL scope: calendar periods overlapping the delivered months.
SELECT NULL, period_type, period, period_start, period_end FROM calendar
WHERE period_end >= first_data_month
UNION ALL
-- Project scopes: calendar periods overlapping the window (as far as data reaches).
SELECT p.project, c.period_type, c.period, c.period_start, c.period_end
FROM reporting.projects p JOIN calendar c
  ON c.period_start <= p.end_date AND c.period_end >= p.start_date
UNION ALL
-- Project scopes: every reporting period and project-to-date period, whatever the data.
SELECT r.project, 'reporting_period', 'P' || r.k, r.period_start, r.period_end
FROM reporting_periods r
UNION ALL
SELECT r.project, 'project_to_date', 'PTD-P' || r.k, r.start_date, r.period_end
FROM reporting_periods r
UNION ALL
SELECT p.project, 'project_to_date', 'PTD', p.start_date, p.end_date
FROM reporting.projects p;

-- Each period with the calendar months it overlaps (joins on month first, then on the date).
CREATE OR REPLACE TABLE derived.period_months AS
SELECT p.*, m.month
FROM reporting.periods p
JOIN (SELECT unnest(generate_series(min(period_start), max(period_end), INTERVAL 1 MONTH))::DATE AS month
      FROM (SELECT date_trunc('month', period_start) AS period_start, period_end FROM reporting.periods)) m
  ON m.month BETWEEN date_trunc('month', p.period_start) AND p.period_end
WHERE getvariable('sos_since') IS NULL OR p.period_end >= getvariable('sos_since');
COMMENT ON TABLE derived.period_months IS 'Every period the last indicator build computed (reporting.periods; all of them, or those a change could touch) once per calendar month it overlaps.';
COMMENT ON COLUMN derived.period_months.project IS 'Project code; NULL = ALL.';
COMMENT ON COLUMN derived.period_months.period_type IS 'As in reporting.periods.';
COMMENT ON COLUMN derived.period_months.period IS 'As in reporting.periods.';
COMMENT ON COLUMN derived.period_months.period_start IS 'As in reporting.periods.';
COMMENT ON COLUMN derived.period_months.period_end IS 'As in reporting.periods.';
COMMENT ON COLUMN derived.period_months.month IS 'First day of a calendar month overlapping the period.';

-- Scopes: (project or ALL) x (centre or ALL). life_start..life_end is when the scope exists:
-- from the centre's first expected month (ALL centres: the earliest), within the project window.
CREATE OR REPLACE TABLE derived.scopes AS
SELECT NULL::VARCHAR AS project, centre, date_trunc('month', active_from)::DATE AS life_start,
       NULL::DATE AS life_end
FROM reporting.centres
UNION ALL
SELECT NULL, NULL, date_trunc('month', min(active_from))::DATE, NULL FROM reporting.centres
UNION ALL
SELECT p.project, c.centre, greatest(p.start_date, date_trunc('month', c.active_from)::DATE), p.end_date
FROM reporting.projects p JOIN reporting.project_centres pc USING (project) JOIN reporting.centres c USING (centre)
UNION ALL
SELECT p.project, NULL, greatest(p.start_date, date_trunc('month', min(c.active_from))::DATE), p.end_date
FROM reporting.projects p JOIN reporting.project_centres pc USING (project) JOIN reporting.centres c USING (centre)
GROUP BY p.project, p.start_date, p.end_date;
COMMENT ON TABLE derived.scopes IS 'Every scope: project (NULL = ALL) x centre (NULL = ALL), and the span in which it exists.';
COMMENT ON COLUMN derived.scopes.project IS 'Project code; NULL = ALL.';
COMMENT ON COLUMN derived.scopes.centre IS 'Centre code; NULL = ALL (the project''s centres).';
COMMENT ON COLUMN derived.scopes.life_start IS 'First day the scope exists: the project start, not before the (earliest) centre''s first month.';
COMMENT ON COLUMN derived.scopes.life_end IS 'Last day the scope exists: the project end; NULL for the ALL project.';

-- Every period of every scope, with the number of its calendar months inside the scope's life
-- (the divisor of the monthly averages).
CREATE OR REPLACE TABLE derived.scope_periods AS
SELECT s.project, s.centre, p.period_type, p.period, p.period_start, p.period_end,
       (SELECT count(*) FROM derived.period_months pm
        WHERE pm.project IS NOT DISTINCT FROM p.project AND pm.period = p.period
          AND pm.period_type = p.period_type
          AND last_day(pm.month) >= s.life_start
          AND (s.life_end IS NULL OR pm.month <= s.life_end)) AS live_months
FROM derived.scopes s JOIN reporting.periods p ON p.project IS NOT DISTINCT FROM s.project
WHERE getvariable('sos_since') IS NULL OR p.period_end >= getvariable('sos_since');
COMMENT ON TABLE derived.scope_periods IS 'Every period of every scope the last indicator build computed (all, or those a change could touch): the rows that must exist for headline values.';
COMMENT ON COLUMN derived.scope_periods.project IS 'Project code; NULL = ALL.';
COMMENT ON COLUMN derived.scope_periods.centre IS 'Centre code; NULL = ALL.';
COMMENT ON COLUMN derived.scope_periods.period_type IS 'As in reporting.periods.';
COMMENT ON COLUMN derived.scope_periods.period IS 'As in reporting.periods.';
COMMENT ON COLUMN derived.scope_periods.period_start IS 'As in reporting.periods.';
COMMENT ON COLUMN derived.scope_periods.period_end IS 'As in reporting.periods.';
COMMENT ON COLUMN derived.scope_periods.live_months IS 'Calendar months of the period within the scope''s life: the divisor of monthly averages.';
