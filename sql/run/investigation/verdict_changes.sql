-- verdict_changes: the rows of verdict_change (this run against the previous
-- publication), raised and new first.
-- Input: verdict_change.
SELECT
    cluster_id,
    change,
    previous_verdict,
    verdict,
    previous_risk_score,
    risk_score,
    previous_n_accounts,
    n_accounts,
    now_in,
    now_in_verdict
FROM verdict_change
ORDER BY
    CASE change WHEN 'raised' THEN 0 WHEN 'new' THEN 1 WHEN 'lowered' THEN 2 ELSE 3 END,
    cluster_id
