-- reports/cohort: one row per flagged cluster that is a cohort, with its accounts, how
-- many passed their test and the weakest passing tie against what it had to reach. A
-- cohort is fragments on watch that linking's member test confirms among themselves.
-- Input: cluster_cohort, _report_member.
SELECT
    cluster_id,
    count(*) AS account_count,
    count(*) FILTER (WHERE tie_surprise >= required_surprise) AS passed_count,
    min(tie_surprise) FILTER (WHERE tie_surprise >= required_surprise) AS weakest_tie,
    max(required_surprise) AS required_surprise
FROM cluster_cohort
WHERE cluster_id IN (SELECT DISTINCT cluster_id FROM _report_member)
GROUP BY cluster_id
ORDER BY cluster_id
