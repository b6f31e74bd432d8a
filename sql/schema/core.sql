-- core: every accepted delivery's rows, pseudonymised, one centre-month replaced at a time.
-- Columns common to every table: centre, month (first day), delivery_sha256, source_row.
-- Refs (*_ref) are HMAC pseudonyms (exports.md, Privacy); never clear text.
CREATE SCHEMA IF NOT EXISTS core;

CREATE TABLE IF NOT EXISTS core.families (
    centre VARCHAR NOT NULL, month DATE NOT NULL, delivery_sha256 VARCHAR NOT NULL, source_row INTEGER,
    family_ref VARCHAR NOT NULL, enrolled_on DATE, exited_on DATE, exit_reason VARCHAR,
    territory VARCHAR, territory_type VARCHAR, target_group VARCHAR, referral_source VARCHAR,
    risk_factors VARCHAR[], adults INTEGER);

CREATE TABLE IF NOT EXISTS core.children (
    centre VARCHAR NOT NULL, month DATE NOT NULL, delivery_sha256 VARCHAR NOT NULL, source_row INTEGER,
    child_ref VARCHAR NOT NULL, family_ref VARCHAR NOT NULL, birth_year INTEGER, sex VARCHAR,
    disability VARCHAR);

CREATE TABLE IF NOT EXISTS core.services (
    centre VARCHAR NOT NULL, month DATE NOT NULL, delivery_sha256 VARCHAR NOT NULL, source_row INTEGER,
    contact_id VARCHAR NOT NULL, date DATE, family_ref VARCHAR NOT NULL, child_ref VARCHAR,
    service VARCHAR, minutes INTEGER, mode VARCHAR, staff_ref VARCHAR, project VARCHAR);

CREATE TABLE IF NOT EXISTS core.group_sessions (
    centre VARCHAR NOT NULL, month DATE NOT NULL, delivery_sha256 VARCHAR NOT NULL, source_row INTEGER,
    session_id VARCHAR NOT NULL, group_code VARCHAR, group_type VARCHAR, date DATE, territory VARCHAR,
    staff_ref VARCHAR, project VARCHAR);

CREATE TABLE IF NOT EXISTS core.group_attendance (
    centre VARCHAR NOT NULL, month DATE NOT NULL, delivery_sha256 VARCHAR NOT NULL, source_row INTEGER,
    session_id VARCHAR NOT NULL, family_ref VARCHAR NOT NULL, child_ref VARCHAR);

CREATE TABLE IF NOT EXISTS core.events (
    centre VARCHAR NOT NULL, month DATE NOT NULL, delivery_sha256 VARCHAR NOT NULL, source_row INTEGER,
    event_id VARCHAR NOT NULL, event_type VARCHAR, title VARCHAR, start_date DATE, end_date DATE,
    territory VARCHAR, project VARCHAR);

CREATE TABLE IF NOT EXISTS core.event_participants (
    centre VARCHAR NOT NULL, month DATE NOT NULL, delivery_sha256 VARCHAR NOT NULL, source_row INTEGER,
    event_id VARCHAR NOT NULL, family_ref VARCHAR NOT NULL, adults INTEGER, children INTEGER);

CREATE TABLE IF NOT EXISTS core.mentoring (
    centre VARCHAR NOT NULL, month DATE NOT NULL, delivery_sha256 VARCHAR NOT NULL, source_row INTEGER,
    pair_id VARCHAR NOT NULL, mentor_ref VARCHAR, family_ref VARCHAR NOT NULL, child_ref VARCHAR,
    started_on DATE, ended_on DATE, project VARCHAR);

CREATE TABLE IF NOT EXISTS core.trainings (
    centre VARCHAR NOT NULL, month DATE NOT NULL, delivery_sha256 VARCHAR NOT NULL, source_row INTEGER,
    training_id VARCHAR NOT NULL, topic VARCHAR, start_date DATE, end_date DATE, hours DOUBLE,
    participants INTEGER, participant_type VARCHAR, project VARCHAR);
