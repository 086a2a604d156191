-- case_finding: the one row of cluster_findings for a case, with the path of its report
-- when one was written (reports are written for flagged clusters only).
-- Input: cluster_findings. Parameters: $cluster_id.
SELECT
    cluster_id,
    verdict,
    risk_score,
    n_accounts,
    n_requests,
    first_seen,
    last_seen,
    strong_families,
    signals,
    joined_case
FROM cluster_findings
WHERE cluster_id = $cluster_id
