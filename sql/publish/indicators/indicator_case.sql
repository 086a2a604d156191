-- indicator_case: one row per flagged case, what its STIX campaign says of it: its size,
-- when it was seen and the rules and families that hold.
-- Input: cluster_findings. Parameters: $verdict (flagged).
SELECT
    cluster_id,
    n_accounts,
    n_requests,
    first_seen,
    last_seen,
    strong_families,
    signals
FROM cluster_findings
WHERE verdict = $verdict
ORDER BY cluster_id
