-- reports/links: one row per link between two accounts of the same flagged cluster, with
-- its weight and families (comma-separated, sorted).
-- Input: account_link, _report_member.
SELECT ma.cluster_id, l.account_a, l.account_b, l.weight,
       array_to_string(list_sort(l.families), ',') AS families
FROM account_link AS l
JOIN _report_member AS ma ON ma.account_id = l.account_a
JOIN _report_member AS mb ON mb.account_id = l.account_b
     AND mb.cluster_id = ma.cluster_id
ORDER BY ma.cluster_id, l.account_a, l.account_b
