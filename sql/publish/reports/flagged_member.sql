-- reports/flagged_member: one row per account of a flagged cluster. The report queries
-- read these rows from the temporary table _report_member.
-- Input: clusters, cluster_findings.
SELECT c.cluster_id, c.account_id
FROM clusters AS c JOIN cluster_findings AS f USING (cluster_id)
WHERE f.verdict = 'flagged'
ORDER BY 1, 2
