-- Replace one centre-month of core.{table} by the staged rows of that centre-month.
-- Run for every table inside the one transaction that loads a delivery.
DELETE FROM core.{table} WHERE centre = $centre AND month = $month;
INSERT INTO core.{table} SELECT * FROM staging.{table} WHERE centre = $centre AND month = $month;
DELETE FROM staging.{table} WHERE centre = $centre AND month = $month;
