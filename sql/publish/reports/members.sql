-- reports/members: one row per account of a flagged cluster.
-- Input: _report_member.
SELECT * FROM _report_member ORDER BY cluster_id, account_id
