-- The floor for bench/federation.py: plain DuckDB reading the same UTF-8 CSV deliveries
-- ({source}/<CENTRE>_<YYYY-MM>/<table>.csv) and computing the headline indicators.
-- No validation, privacy gate, pseudonyms, audit, history or extracts.
CREATE TEMP TABLE served AS
WITH f AS (
    SELECT regexp_extract(filename, '([A-Z0-9]+)_(\d{4})-(\d{2})', 1) AS centre,
           make_date(CAST(regexp_extract(filename, '_(\d{4})-(\d{2})', 1) AS INT),
                     CAST(regexp_extract(filename, '_(\d{4})-(\d{2})', 2) AS INT), 1) AS month,
           family_ref
    FROM read_csv('{source}/*/services.csv', filename = true, all_varchar = true, union_by_name = true)
    UNION ALL
    SELECT regexp_extract(filename, '([A-Z0-9]+)_(\d{4})-(\d{2})', 1),
           make_date(CAST(regexp_extract(filename, '_(\d{4})-(\d{2})', 1) AS INT),
                     CAST(regexp_extract(filename, '_(\d{4})-(\d{2})', 2) AS INT), 1),
           family_ref
    FROM read_csv('{source}/*/group_attendance.csv', filename = true, all_varchar = true, union_by_name = true)
    UNION ALL
    SELECT regexp_extract(filename, '([A-Z0-9]+)_(\d{4})-(\d{2})', 1),
           make_date(CAST(regexp_extract(filename, '_(\d{4})-(\d{2})', 1) AS INT),
                     CAST(regexp_extract(filename, '_(\d{4})-(\d{2})', 2) AS INT), 1),
           family_ref
    FROM read_csv('{source}/*/event_participants.csv', filename = true, all_varchar = true, union_by_name = true)
)
SELECT DISTINCT centre, month, family_ref FROM f WHERE family_ref IS NOT NULL;

CREATE TEMP TABLE children AS
SELECT DISTINCT regexp_extract(filename, '([A-Z0-9]+)_(\d{4})-(\d{2})', 1) AS centre,
       make_date(CAST(regexp_extract(filename, '_(\d{4})-(\d{2})', 1) AS INT),
                 CAST(regexp_extract(filename, '_(\d{4})-(\d{2})', 2) AS INT), 1) AS month,
       family_ref, child_ref
FROM read_csv('{source}/*/children.csv', filename = true, all_varchar = true, union_by_name = true);

-- families and children served per centre and month
SELECT s.centre, s.month, count(DISTINCT s.family_ref) AS families_served,
       count(DISTINCT c.child_ref) AS children_served
FROM served s LEFT JOIN children c USING (centre, month, family_ref)
GROUP BY ALL;

-- per centre and year, and for the whole federation per year (unique counts are not additive)
SELECT s.centre, year(s.month) AS year, count(DISTINCT s.family_ref) AS families_served,
       count(DISTINCT c.child_ref) AS children_served
FROM served s LEFT JOIN children c USING (centre, month, family_ref)
GROUP BY GROUPING SETS ((s.centre, year(s.month)), (year(s.month)));

-- contacts and hours by service, per centre and month
SELECT regexp_extract(filename, '([A-Z0-9]+)_(\d{4})-(\d{2})', 1) AS centre,
       regexp_extract(filename, '_(\d{4}-\d{2})', 1) AS month, service,
       count(*) AS contacts, sum(CAST(minutes AS DOUBLE)) / 60 AS hours
FROM read_csv('{source}/*/services.csv', filename = true, all_varchar = true, union_by_name = true)
GROUP BY ALL;
