-- case_tie: how strongly each candidate cluster (not flagged, under min_accounts_flagged
-- accounts, its own behaviour holding a harvest statistic) is tied to each flagged case its
-- accounts share linking evidence with. One row per (candidate cluster, case) with a pair.
--
-- tie_surprise is -log10 of the Simes combination of the pairs' p-values over all
-- cluster_accounts x case_accounts pairs between the two clusters (a pair with no shared
-- evidence has p near 1 and never sets the minimum): the maximum over the pairs, strongest
-- first, of surprise_(i) + log10(i) - log10(cluster_accounts * case_accounts). Simes stays
-- valid when pairs depend positively on each other, as pairs sharing one key do: a card
-- ten of the case's accounts used is one piece of evidence, which a sum of surprises would
-- count ten times. Surprise is capped at 300 (a p-value under 1e-300 underflows).
--
-- Input: clusters, account_link_pair (linking: account_a < account_b, surprise), and
-- _case_role (cluster_id, n_accounts, role 'candidate' or 'case'; registered by
-- pipeline/scoring.py).
WITH member AS (
    SELECT c.account_id, r.cluster_id, r.n_accounts, r.role
    FROM clusters AS c JOIN _case_role AS r USING (cluster_id)
),

oriented AS (
    SELECT account_a AS account_id, account_b AS other_id, surprise FROM account_link_pair
    UNION ALL
    SELECT account_b AS account_id, account_a AS other_id, surprise FROM account_link_pair
),

pair AS (
    SELECT m.cluster_id, f.cluster_id AS joined_case,
        m.n_accounts * f.n_accounts AS pairs_possible,
        least(o.surprise, 300.0) AS surprise
    FROM oriented AS o
    JOIN member AS m ON m.account_id = o.account_id AND m.role = 'candidate'
    JOIN member AS f ON f.account_id = o.other_id AND f.role = 'case'
    WHERE o.surprise IS NOT NULL
),

ranked AS (
    SELECT *, row_number() OVER (PARTITION BY cluster_id, joined_case ORDER BY surprise DESC)
        AS i
    FROM pair
)

SELECT cluster_id, joined_case, count(*)::BIGINT AS pairs,
    greatest(0.0, max(surprise + log10(i) - log10(pairs_possible)))::DOUBLE AS tie_surprise
FROM ranked
GROUP BY cluster_id, joined_case
ORDER BY cluster_id, joined_case
