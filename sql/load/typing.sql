-- How a cell's text becomes a value (docs/validation-rules.md, "Values"): the typing rules of
-- the reader, as DuckDB macros, applied to a whole chunk of deliveries at once (ingest/cells.py).
--
-- A cell's text `t` arrives trimmed of surrounding white space, NULL when empty. Each value is
-- built in small steps, each macro used once per column (ingest/cells.py nests the steps as
-- subqueries: a macro that used another several times would be planned several times over,
-- for every column of every table). A cell's flag says what went wrong or was made of it:
-- NULL (nothing), 'error' (a spreadsheet's error value such as #N/A), 'bad' (not readable as
-- its kind), and for ids 'scientific' (1.23457E+11: digits lost) and 'float' (137.0, read as
-- 137). Digits are ASCII digits.

-- A spreadsheet's error value: what a cell whose formula failed holds.
-- (#N/A, #VALUE!, #REF!, #DIV/0!, #NAME?, #NUM!, #NULL!, #GETTING_DATA, #SPILL!, #CALC!,
-- #FIELD!, #BLOCKED!, #CONNECT!, #BUSY!, #UNKNOWN!, #N/A!, in any letter case; one pattern
-- rather than a list: DuckDB plans it ten times faster, and it is used in every column.)
CREATE OR REPLACE TEMP MACRO sos_is_error(t) AS regexp_full_match(upper(t),
    '#(N/A!?|VALUE!|REF!|DIV/0!|NAME\?|NUM!|NULL!|GETTING_DATA|SPILL!|CALC!|FIELD!|BLOCKED!|CONNECT!|BUSY!|UNKNOWN!)');

-- The flag of a date or number cell, from its text and its value (NULL: not readable).
CREATE OR REPLACE TEMP MACRO sos_flag(t, v) AS
    CASE WHEN t IS NULL THEN NULL WHEN sos_is_error(t) THEN 'error' WHEN v IS NULL THEN 'bad' END;

-- Text as it may be stored: control characters replaced by U+FFFD, and a text a spreadsheet
-- would take for a formula (=, +, -, @ first, and not a plain number) given a leading apostrophe.
CREATE OR REPLACE TEMP MACRO sos_defuse(t) AS
    CASE WHEN regexp_matches(t, '^[=+\-@]') AND NOT regexp_full_match(t, '[+-]?[0-9]+([.,][0-9]+)?')
         THEN '''' ELSE '' END
    || regexp_replace(t, '[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x{9f}]', chr(65533), 'g');

-- Free text and codes: no control characters, never a formula; an error value is no text.
CREATE OR REPLACE TEMP MACRO sos_text(t) AS
    CASE WHEN NOT sos_is_error(t) THEN sos_defuse(t) END;

CREATE OR REPLACE TEMP MACRO sos_text_flag(t) AS
    CASE WHEN sos_is_error(t) THEN 'error' END;

-- Dates: YYYY-MM-DD (a midnight time after it is allowed) or DD.MM.YYYY (a final dot allowed),
-- and a real day of the calendar, year 1 to 9999. Step 1: the parts; step 2: the date.
CREATE OR REPLACE TEMP MACRO sos_ymd(t) AS
    regexp_extract(t, '^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]00:00(?::00)?)?$', ['y', 'm', 'd']);

CREATE OR REPLACE TEMP MACRO sos_dmy(t) AS
    regexp_extract(t, '^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})\.?$', ['d', 'm', 'y']);

CREATE OR REPLACE TEMP MACRO sos_date(ymd, dmy) AS
    CASE WHEN ymd.y NOT IN ('', '0000') THEN try_cast(ymd.y || '-' || ymd.m || '-' || ymd.d AS DATE)
         WHEN dmy.y NOT IN ('', '0000')
         THEN try_cast(dmy.y || '-' || lpad(dmy.m, 2, '0') || '-' || lpad(dmy.d, 2, '0') AS DATE) END;

-- Numbers: digits with an optional minus and a decimal point or comma; spaces and no-break
-- spaces between digit groups are ignored. Larger than 10^15 in size is not a count or hours.
-- Step 1: the number's text with a decimal point; step 2: the number.
CREATE OR REPLACE TEMP MACRO sos_number_text(t) AS
    regexp_replace(replace(replace(t, chr(160), ''), ' ', ''), '^(-?[0-9]+),([0-9]+)$', '\1.\2');

CREATE OR REPLACE TEMP MACRO sos_number(n) AS
    CASE WHEN regexp_full_match(n, '-?[0-9]+(\.[0-9]+)?') AND abs(CAST(n AS DOUBLE)) <= 1e15
         THEN CAST(n AS DOUBLE) END;

-- Whole numbers (and years), step 3: a number with no fraction, within a 32-bit integer.
CREATE OR REPLACE TEMP MACRO sos_int(x) AS
    CASE WHEN x = floor(x) AND abs(x) <= 2147483647 THEN CAST(x AS BIGINT) END;

-- Ids and refs: what a spreadsheet did to a number typed in an id column. 1.23457E+11 has
-- lost its digits; 137.0 is read as 137 (so the same family keeps its pseudonym). An id never
-- spans lines. Step 1: its flag and its text; step 2: the id (or, for a ref, its pseudonym).
CREATE OR REPLACE TEMP MACRO sos_id_flag(t) AS
    CASE WHEN sos_is_error(t) THEN 'error'
         WHEN regexp_full_match(t, '[+-]?[0-9]+(?:[.,][0-9]*)?[eE][+-]?[0-9]+') THEN 'scientific'
         WHEN regexp_full_match(t, '[0-9]+[.,]0+') THEN 'float'
         WHEN contains(t, chr(10)) OR contains(t, chr(13)) THEN 'bad' END;

CREATE OR REPLACE TEMP MACRO sos_id_text(t) AS
    regexp_replace(t, '^([0-9]+)[.,]0+$', '\1');

-- An id that can be read: nothing wrong with it, or a whole number written as a decimal.
CREATE OR REPLACE TEMP MACRO sos_id_readable(t, flag) AS
    t IS NOT NULL AND coalesce(flag = 'float', true);

-- A ref's pseudonym (exports.md, "Privacy"): 32 hex characters of
-- HMAC-SHA256(key, centre || U+001F || ref), with the key's inner and outer pads given
-- (ingest/cells.py keeps the key out of the SQL text, and computes each distinct readable
-- ref's pseudonym once per chunk).
CREATE OR REPLACE TEMP MACRO sos_pseudonym(ipad, opad, centre, ref) AS
    left(sha256(opad || unhex(sha256(ipad || encode(centre || chr(31) || ref)))), 32);
