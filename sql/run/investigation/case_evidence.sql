-- case_evidence: one row per evidence kind between two accounts of the case: how many of
-- its pairs share that kind, what they share against what the window's null expects
-- (account_link_evidence's shared_count and expected_count, summed over those pairs), and
-- the surprise (-log10 p) of the kind's strongest pair and summed over its pairs.
-- Input: clusters, account_link_evidence. Parameters: $cluster_id.
WITH members AS (
    SELECT account_id FROM clusters WHERE cluster_id = $cluster_id
)

SELECT
    e.family,
    e.key_type,
    count(DISTINCT (e.account_a, e.account_b)) AS pairs,
    sum(e.shared_count) AS shared_count,
    sum(e.expected_count) AS expected_count,
    max(e.surprise) AS max_surprise,
    sum(e.surprise) AS surprise_sum
FROM account_link_evidence AS e
JOIN members AS a ON a.account_id = e.account_a
JOIN members AS b ON b.account_id = e.account_b
GROUP BY e.family, e.key_type
ORDER BY surprise_sum DESC, e.family, e.key_type
