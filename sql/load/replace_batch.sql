-- Replace the centre-months of a batch in core.{table} by the batch's rows.
-- batch_keys (centre, month): every centre-month the batch loads, whether or not it has
-- rows in this table (an empty table replaces what was there). {rows} selects the batch's
-- rows in core's column order. Run for every table inside the one transaction that loads
-- the batch.
DELETE FROM core.{table} USING batch_keys k
WHERE core.{table}.centre = k.centre AND core.{table}.month = CAST(k.month AS DATE);
INSERT INTO core.{table} {rows};
