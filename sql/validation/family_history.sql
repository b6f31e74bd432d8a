-- For each family row of the batch, from the listings of the centre's earlier months the
-- delivery sees (v_prev_families):
--   _prev_enrolled_on: enrolled_on at the family's latest earlier listing, unless that listing
--                      shows an exit and this row's enrolled_on is on or after it (re-enrolled);
--   _earlier_exit_on:  the (first) exit date of an earlier listing with this very family_ref and
--                      enrolled_on (the family is listed again after it left).
CREATE OR REPLACE TEMP TABLE v_history AS
WITH latest AS (
    SELECT _delivery, family_ref, enrolled_on AS prev_enrolled, exited_on AS prev_exit
    FROM (SELECT *, row_number() OVER (PARTITION BY _delivery, family_ref ORDER BY month DESC, _order DESC) AS rn
          FROM v_prev_families WHERE family_ref IS NOT NULL)
    WHERE rn = 1
),
exits AS (
    SELECT _delivery, family_ref, enrolled_on, min(exited_on) AS earlier_exit
    FROM v_prev_families
    WHERE family_ref IS NOT NULL AND enrolled_on IS NOT NULL AND exited_on IS NOT NULL
    GROUP BY ALL
)
SELECT f._delivery, f._row,
       CASE WHEN l.prev_exit IS NOT NULL AND f.enrolled_on IS NOT NULL AND f.enrolled_on >= l.prev_exit
            THEN NULL ELSE l.prev_enrolled END AS _prev_enrolled_on,
       e.earlier_exit AS _earlier_exit_on
FROM v_families f
LEFT JOIN latest l ON l._delivery = f._delivery AND l.family_ref = f.family_ref
LEFT JOIN exits e ON e._delivery = f._delivery AND e.family_ref = f.family_ref AND e.enrolled_on = f.enrolled_on;
