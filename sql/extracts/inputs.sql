-- What one project's funder extracts are made of, as order-free hashes of the rows they read
-- (values, targets, periods, the deliveries, findings and completeness of the project's
-- centres). Equal hashes: the extracts would come out as they are, so they are not rebuilt.
-- Parameters: $project, $centres (the project's centre codes).
SELECT
    (SELECT bit_xor(hash(v)) FROM reporting.indicator_values v WHERE v.project = $project) AS iv,
    (SELECT bit_xor(hash(t)) FROM reporting.target_progress t WHERE t.project = $project) AS tp,
    (SELECT bit_xor(hash(p)) FROM reporting.periods p WHERE p.project = $project OR p.project IS NULL) AS pe,
    (SELECT bit_xor(hash(d)) FROM audit.deliveries d WHERE list_contains($centres, d.centre)) AS de,
    (SELECT bit_xor(hash(f)) FROM audit.findings f
     WHERE (f.delivery, f.sha256) IN (SELECT (delivery, sha256) FROM audit.deliveries
                                     WHERE list_contains($centres, centre))) AS fi,
    (SELECT bit_xor(hash(c)) FROM reporting.completeness c WHERE list_contains($centres, c.centre)) AS co;
