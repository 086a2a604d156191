-- case_pieces: one row per cluster of the case the given cluster is part of: the case's
-- root (the cluster at the end of the joined_case chain, which joined nothing) and every
-- cluster whose joined_case chain ends in it, with its verdict and size (`forensics case`
-- of a piece gives the rest of its finding). An investigator handed any piece sees the
-- whole case, and where each piece's chain goes (joined_case).
-- Input: cluster_findings. Parameters: $cluster_id.
WITH RECURSIVE chain (cluster_id, case_id) AS (
    SELECT cluster_id, cluster_id
    FROM cluster_findings
    WHERE joined_case IS NULL
    UNION
    SELECT piece.cluster_id, chain.case_id
    FROM cluster_findings AS piece
    JOIN chain ON piece.joined_case = chain.cluster_id
)
SELECT
    chain.case_id,
    f.cluster_id,
    f.verdict,
    f.risk_score,
    f.n_accounts,
    f.n_requests,
    f.joined_case
FROM chain
JOIN cluster_findings AS f USING (cluster_id)
WHERE chain.case_id = (SELECT case_id FROM chain WHERE cluster_id = $cluster_id)
ORDER BY f.joined_case IS NOT NULL, f.n_accounts DESC, f.cluster_id
