-- case_tie: one row per candidate cluster (not flagged, of any size, its own behaviour
-- holding a harvest statistic; or, for case_merges, a flagged cluster) and flagged case
-- whose accounts share at least one key of account_shared_key (a rare key, prompt, band,
-- start or prefix-hour) with the cluster's accounts. coholders is how many of the case's
-- accounts share one. The join rule (pipeline/detection/scoring.py) tests each candidate
-- against each of these cases by the member test of linking on the candidate's accounts
-- together (pipeline/linking/members.py: cluster_ties; case_merges keeps only the cases
-- larger than the candidate) and keeps its strongest test, with the test's numbers.
--
-- Input: account_shared_key (linking) and _tie_role (account_id, cluster_id, role:
-- 'candidate' with the account's own cluster, or 'case' with the flagged case it counts
-- for; registered by pipeline/detection/scoring.py).
WITH candidate AS (
    SELECT k.account_id, r.cluster_id, k.key_type, k.key_value
    FROM account_shared_key AS k
    JOIN _tie_role AS r ON r.account_id = k.account_id AND r.role = 'candidate'
),

case_holder AS (
    SELECT k.account_id, r.cluster_id, k.key_type, k.key_value
    FROM account_shared_key AS k
    JOIN _tie_role AS r ON r.account_id = k.account_id AND r.role = 'case'
)

SELECT c.cluster_id, h.cluster_id AS joined_case,
    count(DISTINCT h.account_id)::BIGINT AS coholders
FROM candidate AS c
JOIN case_holder AS h USING (key_type, key_value)
GROUP BY c.cluster_id, h.cluster_id
ORDER BY c.cluster_id, joined_case
