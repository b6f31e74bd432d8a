-- The earliest day each centre-month's delivery can move an indicator (docs/indicators.md,
-- "Incremental builds"): the month's first day, or an earlier day of activity or exit it lists.
-- Input: core.*. Output: (centre, month, since), one row per centre-month with accepted rows.
-- Why these dates and no others, family by family (sql/indicators/):
-- * served, services, groups, events, trainings count activity in T by its date (a contact,
--   a session attended, an event or training started), with the attributes of the month it was
--   delivered in; so a period ending before the earliest activity date cannot change. A
--   participant's completion day (groups) and a family's first day served (caseload) move only
--   on or after the earliest date that changed.
-- * caseload also reads exited_on (families_exited counts an exit in the period holding it) and
--   the listing of the month holding T's end (on or after the month's first day).
-- * enrolled_on is left out on purpose: families_enrolled needs the family served in T too.
-- * mentoring (a pair spans all its listings), completeness (the audit) and manual values
--   (reference data) are recomputed whole on every build: sos_pipeline/indicators/build.py WHOLE.
SELECT centre, month, least(month, min(day)) AS since
FROM (
    SELECT centre, month, NULL::DATE AS day FROM core.families
    UNION ALL SELECT centre, month, exited_on FROM core.families
    UNION ALL SELECT centre, month, date FROM core.services
    UNION ALL SELECT centre, month, date FROM core.group_sessions
    UNION ALL SELECT centre, month, start_date FROM core.events
    UNION ALL SELECT centre, month, start_date FROM core.trainings)
GROUP BY centre, month
