-- The delivery's own {id} values of {table} that a version it sees of another month of its
-- centre already has (v_seen: history.sql): the rule {table}.{id}.unique_centre.
INSERT INTO v_used_ids
WITH own AS (
    SELECT DISTINCT x._delivery, d.centre, d.month, CAST(x.{id} AS VARCHAR) AS id
    FROM v_{table} x JOIN v_deliveries d USING (_delivery)
    WHERE x.{id} IS NOT NULL
)
SELECT o._delivery, '{table}', o.id
FROM own o
JOIN core.{table} c ON c.centre = o.centre AND c.{id} = o.id AND c.month <> o.month
JOIN v_seen s ON s._delivery = o._delivery AND s.month = c.month AND s.ord = -1
UNION
SELECT o._delivery, '{table}', o.id
FROM own o
JOIN v_{table} y ON CAST(y.{id} AS VARCHAR) = o.id
JOIN v_deliveries dy ON dy._delivery = y._delivery AND dy.centre = o.centre AND dy.month <> o.month
JOIN v_seen s ON s._delivery = o._delivery AND s.month = dy.month AND s.ord = y._delivery;
