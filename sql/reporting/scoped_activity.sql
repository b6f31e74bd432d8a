-- Activity in scope (indicators.md, "Scope"): every activity row once for the ALL project
-- (project NULL), and once more for its own project when its date lies in that project's window.
-- Activity dates: contact date; session date (attendance goes with it); event start_date
-- (participants go with it); training start_date. Mentoring pairs: by overlap with the window.
-- Refs here are the pseudonyms of core; a family or child is (centre, ref).

CREATE OR REPLACE TEMP TABLE scope_of AS       -- activity project x date -> scope project
SELECT project, start_date, end_date FROM reporting.projects;

CREATE OR REPLACE TABLE derived.services AS
SELECT NULL::VARCHAR AS project, centre, month, date, family_ref, service, minutes
FROM core.services
UNION ALL
SELECT s.project, s.centre, s.month, s.date, s.family_ref, s.service, s.minutes
FROM core.services s JOIN scope_of p ON s.project = p.project AND s.date BETWEEN p.start_date AND p.end_date;
COMMENT ON TABLE derived.services IS 'Service contacts in scope: each contact under project NULL (ALL) and under its own project when its date is in the window.';
COMMENT ON COLUMN derived.services.project IS 'Scope project; NULL = ALL.';
COMMENT ON COLUMN derived.services.centre IS 'Centre code.';
COMMENT ON COLUMN derived.services.month IS 'Delivery month.';
COMMENT ON COLUMN derived.services.date IS 'Contact date.';
COMMENT ON COLUMN derived.services.family_ref IS 'Family pseudonym.';
COMMENT ON COLUMN derived.services.service IS 'Service code.';
COMMENT ON COLUMN derived.services.minutes IS 'Minutes (NULL for material aid).';

CREATE OR REPLACE TABLE derived.sessions AS
WITH sessions AS (
    SELECT centre, month, session_id, group_code, group_type, date, project FROM core.group_sessions)
SELECT NULL::VARCHAR AS project, centre, month, session_id, group_code, group_type, date FROM sessions
UNION ALL
SELECT s.project, s.centre, s.month, s.session_id, s.group_code, s.group_type, s.date
FROM sessions s JOIN scope_of p ON s.project = p.project AND s.date BETWEEN p.start_date AND p.end_date;
COMMENT ON TABLE derived.sessions IS 'Group sessions in scope (ALL, and their own project when in its window).';
COMMENT ON COLUMN derived.sessions.project IS 'Scope project; NULL = ALL.';
COMMENT ON COLUMN derived.sessions.centre IS 'Centre code.';
COMMENT ON COLUMN derived.sessions.month IS 'Delivery month.';
COMMENT ON COLUMN derived.sessions.session_id IS 'Session id (unique within the centre).';
COMMENT ON COLUMN derived.sessions.group_code IS 'The group run the session belongs to.';
COMMENT ON COLUMN derived.sessions.group_type IS 'Group type.';
COMMENT ON COLUMN derived.sessions.date IS 'Session date.';

-- One row per participant per session in scope; a family's adults are one participant.
CREATE OR REPLACE TABLE derived.attendance AS
SELECT DISTINCT s.project, s.centre, s.month, s.session_id, s.group_code, s.group_type, s.date,
       a.family_ref,
       CASE WHEN a.child_ref IS NULL THEN 'adults:' || a.family_ref ELSE 'child:' || a.child_ref END AS participant
FROM derived.sessions s
JOIN core.group_attendance a ON a.centre = s.centre AND a.month = s.month AND a.session_id = s.session_id;
COMMENT ON TABLE derived.attendance IS 'Group attendance in scope: one row per participant per session (a family''s adults count as one participant, each child as one).';
COMMENT ON COLUMN derived.attendance.project IS 'Scope project; NULL = ALL.';
COMMENT ON COLUMN derived.attendance.centre IS 'Centre code.';
COMMENT ON COLUMN derived.attendance.month IS 'Delivery month.';
COMMENT ON COLUMN derived.attendance.session_id IS 'Session id.';
COMMENT ON COLUMN derived.attendance.group_code IS 'Group run.';
COMMENT ON COLUMN derived.attendance.group_type IS 'Group type.';
COMMENT ON COLUMN derived.attendance.date IS 'Session date.';
COMMENT ON COLUMN derived.attendance.family_ref IS 'Family pseudonym.';
COMMENT ON COLUMN derived.attendance.participant IS 'Participant key: adults:<family pseudonym> or child:<child pseudonym>.';

CREATE OR REPLACE TABLE derived.events AS
WITH events AS (SELECT centre, month, event_id, event_type, start_date, project FROM core.events)
SELECT NULL::VARCHAR AS project, centre, month, event_id, event_type, start_date FROM events
UNION ALL
SELECT e.project, e.centre, e.month, e.event_id, e.event_type, e.start_date
FROM events e JOIN scope_of p ON e.project = p.project AND e.start_date BETWEEN p.start_date AND p.end_date;
COMMENT ON TABLE derived.events IS 'Events in scope (ALL, and their own project when they start in its window).';
COMMENT ON COLUMN derived.events.project IS 'Scope project; NULL = ALL.';
COMMENT ON COLUMN derived.events.centre IS 'Centre code.';
COMMENT ON COLUMN derived.events.month IS 'Delivery month.';
COMMENT ON COLUMN derived.events.event_id IS 'Event id (unique within the centre).';
COMMENT ON COLUMN derived.events.event_type IS 'Event type.';
COMMENT ON COLUMN derived.events.start_date IS 'First day of the event.';

CREATE OR REPLACE TABLE derived.participants AS
SELECT e.project, e.centre, e.month, e.event_id, e.event_type, e.start_date, p.family_ref, p.adults, p.children
FROM derived.events e
JOIN core.event_participants p ON p.centre = e.centre AND p.month = e.month AND p.event_id = e.event_id;
COMMENT ON TABLE derived.participants IS 'Event participation rows in scope: one row per family per event.';
COMMENT ON COLUMN derived.participants.project IS 'Scope project; NULL = ALL.';
COMMENT ON COLUMN derived.participants.centre IS 'Centre code.';
COMMENT ON COLUMN derived.participants.month IS 'Delivery month.';
COMMENT ON COLUMN derived.participants.event_id IS 'Event id.';
COMMENT ON COLUMN derived.participants.event_type IS 'Event type.';
COMMENT ON COLUMN derived.participants.start_date IS 'First day of the event.';
COMMENT ON COLUMN derived.participants.family_ref IS 'Family pseudonym.';
COMMENT ON COLUMN derived.participants.adults IS 'Adults of the family who took part.';
COMMENT ON COLUMN derived.participants.children IS 'Children of the family who took part.';

-- A mentoring pair is listed every month it is active: its span is the first started_on to
-- the last ended_on (open while never ended); mentor and project from its latest listing.
CREATE OR REPLACE TABLE derived.pairs AS
WITH pairs AS (
    SELECT centre, pair_id, min(started_on) AS started_on, max(ended_on) AS ended_on,
           arg_max(mentor_ref, month) AS mentor_ref, arg_max(project, month) AS project
    FROM core.mentoring GROUP BY centre, pair_id)
SELECT NULL::VARCHAR AS project, centre, pair_id, mentor_ref, started_on, ended_on FROM pairs
UNION ALL
SELECT m.project, m.centre, m.pair_id, m.mentor_ref, m.started_on, m.ended_on
FROM pairs m JOIN scope_of p ON m.project = p.project
 AND m.started_on <= p.end_date AND (m.ended_on IS NULL OR m.ended_on >= p.start_date);
COMMENT ON TABLE derived.pairs IS 'Mentoring pairs in scope, one row per pair: ALL, and its project when its span overlaps the window.';
COMMENT ON COLUMN derived.pairs.project IS 'Scope project; NULL = ALL.';
COMMENT ON COLUMN derived.pairs.centre IS 'Centre code.';
COMMENT ON COLUMN derived.pairs.pair_id IS 'Pair id (unique within the centre).';
COMMENT ON COLUMN derived.pairs.mentor_ref IS 'Mentor pseudonym (latest listing).';
COMMENT ON COLUMN derived.pairs.started_on IS 'Earliest started_on listed.';
COMMENT ON COLUMN derived.pairs.ended_on IS 'Latest ended_on listed; NULL while the pair goes on.';

CREATE OR REPLACE TABLE derived.trainings AS
WITH trainings AS (SELECT centre, month, training_id, topic, start_date, participants, project FROM core.trainings)
SELECT NULL::VARCHAR AS project, centre, month, training_id, topic, start_date, participants FROM trainings
UNION ALL
SELECT t.project, t.centre, t.month, t.training_id, t.topic, t.start_date, t.participants
FROM trainings t JOIN scope_of p ON t.project = p.project AND t.start_date BETWEEN p.start_date AND p.end_date;
COMMENT ON TABLE derived.trainings IS 'Professional trainings in scope (ALL, and their own project when they start in its window).';
COMMENT ON COLUMN derived.trainings.project IS 'Scope project; NULL = ALL.';
COMMENT ON COLUMN derived.trainings.centre IS 'Centre code.';
COMMENT ON COLUMN derived.trainings.month IS 'Delivery month.';
COMMENT ON COLUMN derived.trainings.training_id IS 'Training id (unique within the centre).';
COMMENT ON COLUMN derived.trainings.topic IS 'Training topic.';
COMMENT ON COLUMN derived.trainings.start_date IS 'First day of the training.';
COMMENT ON COLUMN derived.trainings.participants IS 'Professionals trained.';

-- Who counts as served: a contact, a group session attended, an event taken part in.
CREATE OR REPLACE TABLE derived.served_days AS
SELECT DISTINCT project, centre, month, date, family_ref FROM (
    SELECT project, centre, month, date, family_ref FROM derived.services
    UNION ALL SELECT project, centre, month, date, family_ref FROM derived.attendance
    UNION ALL SELECT project, centre, month, start_date, family_ref FROM derived.participants);
COMMENT ON TABLE derived.served_days IS 'Each day a family was served within a scope project: a service contact, a group session attended or an event taken part in.';
COMMENT ON COLUMN derived.served_days.project IS 'Scope project; NULL = ALL.';
COMMENT ON COLUMN derived.served_days.centre IS 'Centre code.';
COMMENT ON COLUMN derived.served_days.month IS 'Delivery month (whose listing gives the family''s children).';
COMMENT ON COLUMN derived.served_days.date IS 'Day served.';
COMMENT ON COLUMN derived.served_days.family_ref IS 'Family pseudonym.';

-- Served families per period and month: the base of families_served, children_served and
-- their monthly averages. A family served in T is served in some month m of T on a day in T.
CREATE OR REPLACE TABLE derived.served AS
SELECT DISTINCT s.project, pm.period_type, pm.period, pm.period_start, pm.period_end, s.centre,
       s.family_ref, s.month
FROM derived.served_days s
JOIN derived.period_months pm ON pm.project IS NOT DISTINCT FROM s.project AND pm.month = s.month
WHERE s.date BETWEEN pm.period_start AND pm.period_end;
COMMENT ON TABLE derived.served IS 'Families served per scope project, period and month of the period in which they were served, for the periods the last indicator build computed (derived.period_months).';
COMMENT ON COLUMN derived.served.project IS 'Scope project; NULL = ALL.';
COMMENT ON COLUMN derived.served.period_type IS 'Period type.';
COMMENT ON COLUMN derived.served.period IS 'Period label.';
COMMENT ON COLUMN derived.served.period_start IS 'First day of the period.';
COMMENT ON COLUMN derived.served.period_end IS 'Last day of the period.';
COMMENT ON COLUMN derived.served.centre IS 'Centre code.';
COMMENT ON COLUMN derived.served.family_ref IS 'Family pseudonym.';
COMMENT ON COLUMN derived.served.month IS 'A month of the period in which the family was served (on a day inside the period).';
