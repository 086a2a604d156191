-- account_case: the cluster an account is in and that cluster's finding: one row, or none
-- when the account was not active in the window.
-- Input: clusters, cluster_findings. Parameters: $account_id.
SELECT
    c.account_id,
    c.cluster_id,
    c.cluster_size,
    f.verdict,
    f.risk_score,
    f.signals,
    c.window_start,
    c.window_end
FROM clusters AS c
LEFT JOIN cluster_findings AS f USING (cluster_id)
WHERE c.account_id = $account_id
