-- reporting: what analysts query (warehouse.md, "What analysts query"), and the reference data
-- it rests on. derived: intermediate tables the indicator SQL builds on (rebuilt every refresh).
-- Every table and column carries a comment; docs/data-dictionary.md is generated from them.
CREATE SCHEMA IF NOT EXISTS reporting;
CREATE SCHEMA IF NOT EXISTS derived;

CREATE TABLE IF NOT EXISTS reporting.indicator_values (
    indicator VARCHAR NOT NULL, project VARCHAR, centre VARCHAR, period_type VARCHAR NOT NULL,
    period VARCHAR NOT NULL, period_start DATE NOT NULL, period_end DATE NOT NULL, breakdown VARCHAR,
    value DOUBLE NOT NULL);
COMMENT ON TABLE reporting.indicator_values IS 'Every indicator of the catalogue for every scope (project or ALL x centre or ALL) and period. Unique counts are computed per scope and period, never summed: a quarter is not the sum of its months. Rows with value 0 may be absent, except the headline families_served and children_served rows, which exist for every period of every scope, and the reporting rates (project ALL only), which exist for every period with a month expected from the centre.';
COMMENT ON COLUMN reporting.indicator_values.indicator IS 'Indicator code (reporting.indicator_catalogue).';
COMMENT ON COLUMN reporting.indicator_values.project IS 'Project code of the scope; NULL = ALL (every activity, attributed or not).';
COMMENT ON COLUMN reporting.indicator_values.centre IS 'Centre code of the scope; NULL = ALL centres (for a project: the project''s centres).';
COMMENT ON COLUMN reporting.indicator_values.period_type IS 'month, quarter, year; for projects also reporting_period (P1..Pn) and project_to_date (PTD-P1..PTD-Pn, PTD).';
COMMENT ON COLUMN reporting.indicator_values.period IS 'Period label: 2014-03, 2014-Q1, 2014, P3, PTD-P3, PTD.';
COMMENT ON COLUMN reporting.indicator_values.period_start IS 'First day of the period (inclusive).';
COMMENT ON COLUMN reporting.indicator_values.period_end IS 'Last day of the period (inclusive).';
COMMENT ON COLUMN reporting.indicator_values.breakdown IS 'NULL for the headline value, else one key=value pair, e.g. service=psychologist.';
COMMENT ON COLUMN reporting.indicator_values.value IS 'The value (DOUBLE): a count, a sum of hours or people, a monthly average, or a percentage (reporting rates: 0-100).';

CREATE TABLE IF NOT EXISTS reporting.target_progress (
    project VARCHAR NOT NULL, indicator VARCHAR NOT NULL, breakdown VARCHAR, centre VARCHAR,
    period VARCHAR NOT NULL, period_end DATE NOT NULL, target DOUBLE NOT NULL, target_from DATE NOT NULL,
    actual DOUBLE NOT NULL, achievement DOUBLE);
COMMENT ON TABLE reporting.target_progress IS 'Each project target against the actual project-to-date value at the end of every reporting period (PTD-P1..PTD-Pn, and PTD for the whole window), including periods in progress or not begun (their actual is the value so far). The target is the value in force at the period''s end (the latest revision dated on or before it).';
COMMENT ON COLUMN reporting.target_progress.project IS 'Project code.';
COMMENT ON COLUMN reporting.target_progress.indicator IS 'Indicator code the target names (computed, or entered by hand in manual_values).';
COMMENT ON COLUMN reporting.target_progress.breakdown IS 'NULL for the headline value, else the key=value pair the target is about.';
COMMENT ON COLUMN reporting.target_progress.centre IS 'Centre the target is for; NULL = the whole project.';
COMMENT ON COLUMN reporting.target_progress.period IS 'PTD-P1 .. PTD-Pn, and PTD (the whole project window).';
COMMENT ON COLUMN reporting.target_progress.period_end IS 'Last day of the period.';
COMMENT ON COLUMN reporting.target_progress.target IS 'Target value in force at period_end.';
COMMENT ON COLUMN reporting.target_progress.target_from IS 'Date from which that target value applies (its revision).';
COMMENT ON COLUMN reporting.target_progress.actual IS 'Project-to-date value (reporting.indicator_values), 0 when nothing was recorded.';
COMMENT ON COLUMN reporting.target_progress.achievement IS 'actual / target (1.0 = 100 %).';

CREATE TABLE IF NOT EXISTS reporting.indicator_catalogue (
    indicator VARCHAR NOT NULL, name_lv VARCHAR NOT NULL, name_en VARCHAR NOT NULL,
    definition VARCHAR NOT NULL, unit VARCHAR NOT NULL, breakdowns VARCHAR, source VARCHAR NOT NULL);
COMMENT ON TABLE reporting.indicator_catalogue IS 'What each indicator means, in Latvian and English (docs/indicator-catalogue.md).';
COMMENT ON COLUMN reporting.indicator_catalogue.indicator IS 'Indicator code.';
COMMENT ON COLUMN reporting.indicator_catalogue.name_lv IS 'Name in Latvian.';
COMMENT ON COLUMN reporting.indicator_catalogue.name_en IS 'Name in English.';
COMMENT ON COLUMN reporting.indicator_catalogue.definition IS 'Exact definition (indicators.md).';
COMMENT ON COLUMN reporting.indicator_catalogue.unit IS 'families, children, participants, contacts, hours, groups, sessions, events, adults, pairs, mentors, people, items, percent.';
COMMENT ON COLUMN reporting.indicator_catalogue.breakdowns IS 'Breakdown keys available, comma-separated (empty: headline only).';
COMMENT ON COLUMN reporting.indicator_catalogue.source IS 'Where the value comes from: sql/indicators/<file>.sql, or manual (reference data).';

CREATE TABLE IF NOT EXISTS reporting.centres (
    centre VARCHAR NOT NULL, name_lv VARCHAR, name_en VARCHAR, active_from DATE NOT NULL, due_day INTEGER);
COMMENT ON TABLE reporting.centres IS 'The centres (reference data, centres.yaml).';
COMMENT ON COLUMN reporting.centres.centre IS 'Centre code.';
COMMENT ON COLUMN reporting.centres.name_lv IS 'Name in Latvian.';
COMMENT ON COLUMN reporting.centres.name_en IS 'Name in English.';
COMMENT ON COLUMN reporting.centres.active_from IS 'First month a delivery is expected.';
COMMENT ON COLUMN reporting.centres.due_day IS 'A month''s delivery is due by this day of the next month (1-28; 10 unless centres.yaml says otherwise).';

CREATE TABLE IF NOT EXISTS reporting.projects (
    project VARCHAR NOT NULL, number VARCHAR, name_lv VARCHAR, name_en VARCHAR, funder VARCHAR,
    start_date DATE NOT NULL, end_date DATE NOT NULL, services_end DATE, reporting_months INTEGER NOT NULL,
    suppression_threshold INTEGER NOT NULL);
COMMENT ON TABLE reporting.projects IS 'Funded projects (reference data, projects.yaml).';
COMMENT ON COLUMN reporting.projects.project IS 'Project code.';
COMMENT ON COLUMN reporting.projects.number IS 'The funder''s agreement number, if any.';
COMMENT ON COLUMN reporting.projects.name_lv IS 'Name in Latvian.';
COMMENT ON COLUMN reporting.projects.name_en IS 'Name in English.';
COMMENT ON COLUMN reporting.projects.funder IS 'Who funds it.';
COMMENT ON COLUMN reporting.projects.start_date IS 'First day of the project window (inclusive).';
COMMENT ON COLUMN reporting.projects.end_date IS 'Last day of the project window (inclusive).';
COMMENT ON COLUMN reporting.projects.services_end IS 'Last day of services, when earlier than end_date (information only: the scope is the window).';
COMMENT ON COLUMN reporting.projects.reporting_months IS 'Length of a reporting period in months, counted from start_date.';
COMMENT ON COLUMN reporting.projects.suppression_threshold IS 'Counts from 1 to threshold-1 are suppressed in funder extracts.';

CREATE TABLE IF NOT EXISTS reporting.project_centres (project VARCHAR NOT NULL, centre VARCHAR NOT NULL);
COMMENT ON TABLE reporting.project_centres IS 'Which centres take part in which project.';
COMMENT ON COLUMN reporting.project_centres.project IS 'Project code.';
COMMENT ON COLUMN reporting.project_centres.centre IS 'Centre code.';

CREATE TABLE IF NOT EXISTS reporting.project_budget (project VARCHAR NOT NULL, source VARCHAR NOT NULL,
    amount DECIMAL(14, 2) NOT NULL);
COMMENT ON TABLE reporting.project_budget IS 'Project budgets by source of funds (EUR).';
COMMENT ON COLUMN reporting.project_budget.project IS 'Project code.';
COMMENT ON COLUMN reporting.project_budget.source IS 'Source of funds.';
COMMENT ON COLUMN reporting.project_budget.amount IS 'Amount in EUR.';

CREATE TABLE IF NOT EXISTS reporting.targets (project VARCHAR NOT NULL, indicator VARCHAR NOT NULL,
    breakdown VARCHAR, centre VARCHAR, value DOUBLE NOT NULL, valid_from DATE NOT NULL);
COMMENT ON TABLE reporting.targets IS 'Project targets with every revision on record (reference data).';
COMMENT ON COLUMN reporting.targets.project IS 'Project code.';
COMMENT ON COLUMN reporting.targets.indicator IS 'Indicator code.';
COMMENT ON COLUMN reporting.targets.breakdown IS 'NULL, or the key=value pair the target is about.';
COMMENT ON COLUMN reporting.targets.centre IS 'Centre the target is for; NULL = the whole project.';
COMMENT ON COLUMN reporting.targets.value IS 'Target value.';
COMMENT ON COLUMN reporting.targets.valid_from IS 'Date from which this value applies.';

CREATE TABLE IF NOT EXISTS reporting.manual_values (project VARCHAR NOT NULL, indicator VARCHAR NOT NULL,
    breakdown VARCHAR, centre VARCHAR, value DOUBLE NOT NULL, date DATE NOT NULL);
COMMENT ON TABLE reporting.manual_values IS 'Values no activity produces (e.g. a mentor handbook published), entered by hand in projects.yaml; they appear in indicator_values like computed ones.';
COMMENT ON COLUMN reporting.manual_values.project IS 'Project code.';
COMMENT ON COLUMN reporting.manual_values.indicator IS 'Indicator code.';
COMMENT ON COLUMN reporting.manual_values.breakdown IS 'NULL, or a key=value pair.';
COMMENT ON COLUMN reporting.manual_values.centre IS 'Centre; NULL = the whole project.';
COMMENT ON COLUMN reporting.manual_values.value IS 'Value.';
COMMENT ON COLUMN reporting.manual_values.date IS 'When it happened: it counts in every period holding this date.';

CREATE TABLE IF NOT EXISTS reporting.periods (project VARCHAR, period_type VARCHAR NOT NULL,
    period VARCHAR NOT NULL, period_start DATE NOT NULL, period_end DATE NOT NULL);
COMMENT ON TABLE reporting.periods IS 'Every period of every project scope: calendar months, quarters and years from the first to the last month of data (project scopes: those overlapping the window), and every reporting period and project-to-date period of a project, whatever the data (from the first refresh; 0 until they begin).';
COMMENT ON COLUMN reporting.periods.project IS 'Project code; NULL = the ALL scope.';
COMMENT ON COLUMN reporting.periods.period_type IS 'month, quarter, year, reporting_period or project_to_date.';
COMMENT ON COLUMN reporting.periods.period IS 'Label, as in indicator_values.';
COMMENT ON COLUMN reporting.periods.period_start IS 'First day (inclusive).';
COMMENT ON COLUMN reporting.periods.period_end IS 'Last day (inclusive).';

CREATE TABLE IF NOT EXISTS derived.build_state (
    step VARCHAR PRIMARY KEY, fingerprint VARCHAR NOT NULL, built_at TIMESTAMP NOT NULL);
COMMENT ON TABLE derived.build_state IS 'What the last completed build of each step (indicators, publish) was made from, as a sha256 of its inputs (sos_pipeline/warehouse/state.py): a refresh with nothing new skips that step.';
COMMENT ON COLUMN derived.build_state.step IS 'indicators or publish.';
COMMENT ON COLUMN derived.build_state.fingerprint IS 'sha256 of the step''s inputs: the deliveries and their status, the reference data, the code and SQL, today''s date (publish: and the audit).';
COMMENT ON COLUMN derived.build_state.built_at IS 'When the step completed with these inputs (UTC).';
