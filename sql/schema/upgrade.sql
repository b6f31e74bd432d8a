-- Upgrades a working warehouse built by an earlier release, before the schema files run.
-- Each statement is idempotent and runs on every schema check that finds something to do.
-- Releases up to 0.1.0: staging.* held a delivery between reading and loading (the
-- one-partition load_delivery path). One loading path now reads straight into core.
DROP SCHEMA IF EXISTS staging CASCADE;
