-- reports/findings: one row per cluster of the window with its verdict, flagged first,
-- then by risk score.
-- Input: cluster_findings.
SELECT * FROM cluster_findings
ORDER BY verdict_level(verdict), risk_score DESC, cluster_id
