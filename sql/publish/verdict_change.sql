-- verdict_change: one row per cluster whose verdict differs between this run and the
-- previous publication (the last valid one whose window ends before this run's; see
-- pipeline/publication.py). A cluster that appears flagged or on watch is 'new'; one that
-- was flagged or on watch and has no row now is 'ended'; one whose verdict moved is
-- 'raised' or 'lowered'. Clear on both sides, or clear on one and absent on the other, is
-- not a change. For an ended cluster, now_in is the cluster of this run that holds most
-- of its accounts of the previous publication (ties: the lowest id) and now_in_verdict
-- that cluster's verdict: a case whose accounts merged into another case was not dropped.
--
-- Input: cluster_findings and clusters (this run); previous_findings (cluster_id, verdict,
-- risk_score, n_accounts) and previous_clusters (cluster_id, account_id): the previous
-- publication's findings/cluster_findings.parquet and findings/clusters.parquet,
-- registered by pipeline/publication.py. Parameters: $compared (false when there is no
-- previous publication: nothing is compared, and there are no rows).
WITH now AS (
    SELECT cluster_id, verdict, risk_score, n_accounts FROM cluster_findings
),

moved AS (
    SELECT p.cluster_id AS previous_id, c.cluster_id AS now_in, count(*) AS shared
    FROM previous_clusters AS p
    JOIN clusters AS c USING (account_id)
    GROUP BY p.cluster_id, c.cluster_id
    QUALIFY row_number() OVER (PARTITION BY previous_id ORDER BY shared DESC, now_in) = 1
),

joined AS (
    SELECT
        coalesce(n.cluster_id, p.cluster_id) AS cluster_id,
        p.verdict AS previous_verdict,
        n.verdict,
        p.risk_score AS previous_risk_score,
        n.risk_score,
        p.n_accounts AS previous_n_accounts,
        n.n_accounts,
        verdict_level(p.verdict) AS previous_level,
        verdict_level(n.verdict) AS level,
        n.cluster_id IS NULL AS ended,
        p.cluster_id IS NULL AS new
    FROM now AS n
    FULL OUTER JOIN previous_findings AS p ON n.cluster_id = p.cluster_id
)

SELECT
    joined.cluster_id,
    CASE WHEN new THEN 'new' WHEN ended THEN 'ended'
         WHEN level < previous_level THEN 'raised' ELSE 'lowered' END AS change,
    previous_verdict,
    joined.verdict,
    previous_risk_score,
    joined.risk_score,
    previous_n_accounts,
    joined.n_accounts,
    m.now_in,
    f.verdict AS now_in_verdict
FROM joined
LEFT JOIN moved AS m ON joined.ended AND m.previous_id = joined.cluster_id
LEFT JOIN now AS f ON f.cluster_id = m.now_in
WHERE level <> previous_level AND $compared
ORDER BY least(level, previous_level), level, joined.cluster_id
