-- reports/statistics: one row per flagged cluster and statistic tested.
-- Input: cluster_statistic, _report_member.
SELECT s.* FROM cluster_statistic AS s
WHERE s.cluster_id IN (SELECT DISTINCT cluster_id FROM _report_member)
ORDER BY s.cluster_id, s.family, s.rule_id, s.statistic
