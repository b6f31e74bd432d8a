-- NAIVE figure for bench/federation.py (NOT the floor: that is bench/floor.py). Plain DuckDB
-- reading 4 of the 9 tables of the same UTF-8 CSV deliveries
-- ({source}/<CENTRE>_<YYYY-MM>/<table>.csv) and computing 3 of the 22 indicators, for the ALL
-- scope by month and year only: no breakdowns, averages, targets, pseudonyms or audit. Each file type is read
-- once with its columns given (no per-file sniffing: the fastest way DuckDB reads them).
CREATE TEMP TABLE services AS
SELECT regexp_extract(filename, '([A-Z0-9]+)_(\d{4}-\d{2})', 1) AS centre,
       CAST(regexp_extract(filename, '([A-Z0-9]+)_(\d{4}-\d{2})', 2) || '-01' AS DATE) AS month, *
FROM read_csv('{source}/*/services.csv', filename = true, header = true, auto_detect = false,
              columns = {'contact_id': 'VARCHAR', 'date': 'DATE', 'family_ref': 'VARCHAR',
                         'child_ref': 'VARCHAR', 'service': 'VARCHAR', 'minutes': 'INTEGER',
                         'mode': 'VARCHAR', 'staff_ref': 'VARCHAR', 'project': 'VARCHAR'});

CREATE TEMP TABLE attendance AS
SELECT regexp_extract(filename, '([A-Z0-9]+)_(\d{4}-\d{2})', 1) AS centre,
       CAST(regexp_extract(filename, '([A-Z0-9]+)_(\d{4}-\d{2})', 2) || '-01' AS DATE) AS month, *
FROM read_csv('{source}/*/group_attendance.csv', filename = true, header = true, auto_detect = false,
              columns = {'session_id': 'VARCHAR', 'family_ref': 'VARCHAR', 'child_ref': 'VARCHAR'});

CREATE TEMP TABLE participants AS
SELECT regexp_extract(filename, '([A-Z0-9]+)_(\d{4}-\d{2})', 1) AS centre,
       CAST(regexp_extract(filename, '([A-Z0-9]+)_(\d{4}-\d{2})', 2) || '-01' AS DATE) AS month, *
FROM read_csv('{source}/*/event_participants.csv', filename = true, header = true, auto_detect = false,
              columns = {'event_id': 'VARCHAR', 'family_ref': 'VARCHAR', 'adults': 'INTEGER',
                         'children': 'INTEGER'});

CREATE TEMP TABLE children AS
SELECT regexp_extract(filename, '([A-Z0-9]+)_(\d{4}-\d{2})', 1) AS centre,
       CAST(regexp_extract(filename, '([A-Z0-9]+)_(\d{4}-\d{2})', 2) || '-01' AS DATE) AS month, *
FROM read_csv('{source}/*/children.csv', filename = true, header = true, auto_detect = false,
              columns = {'child_ref': 'VARCHAR', 'family_ref': 'VARCHAR', 'birth_year': 'INTEGER',
                         'sex': 'VARCHAR', 'disability': 'VARCHAR'});

CREATE TEMP TABLE served AS
SELECT DISTINCT centre, month, family_ref FROM (
    SELECT centre, month, family_ref FROM services
    UNION ALL SELECT centre, month, family_ref FROM attendance
    UNION ALL SELECT centre, month, family_ref FROM participants)
WHERE family_ref IS NOT NULL;

-- families and children served per centre and month
SELECT s.centre, s.month, count(DISTINCT s.family_ref) AS families_served,
       count(DISTINCT c.child_ref) AS children_served
FROM served s LEFT JOIN children c USING (centre, month, family_ref)
GROUP BY ALL;

-- per centre and year, and for the whole federation per year (unique counts are not additive)
-- A family or child is (centre, ref): the same case number at two centres is two families.
SELECT s.centre, year(s.month) AS year, count(DISTINCT s.centre || chr(31) || s.family_ref) AS families_served,
       count(DISTINCT s.centre || chr(31) || c.child_ref) AS children_served
FROM served s LEFT JOIN children c USING (centre, month, family_ref)
GROUP BY GROUPING SETS ((s.centre, year(s.month)), (year(s.month)));

-- contacts and hours by service, per centre and month
SELECT centre, month, service, count(*) AS contacts, sum(minutes) / 60 AS hours
FROM services GROUP BY ALL;
