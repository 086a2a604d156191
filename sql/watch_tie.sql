-- watch_tie: one row per pair of accounts on watch, in different clusters, that linking
-- found weakly tied: their evidence has surprise at least $weak (chance would give that
-- much to at most one pair of unrelated accounts in 10^$weak) and stays under the edge
-- threshold (a stronger pair is an edge already, linking's business). Each row carries
-- both accounts' weak-tie degrees over the whole window and the window's count of
-- weak-tie pairs: the configuration-model null of scoring's case assembly (an account
-- that shares a little with everyone is expected to share a little with this group too).
--
-- Input: account_link_pair, link_threshold (linking) and _watch (account_id, cluster_id
-- of the clusters on watch; registered by pipeline/scoring.py). Parameters: $weak.
WITH bound AS (
    SELECT max(edge_surprise) AS edge_surprise FROM link_threshold
),

weak AS (
    SELECT p.account_a, p.account_b
    FROM account_link_pair AS p, bound
    WHERE p.surprise >= $weak AND p.surprise < bound.edge_surprise
),

degree AS (
    SELECT account_id, count(*) AS degree
    FROM (SELECT account_a AS account_id FROM weak UNION ALL SELECT account_b FROM weak)
    GROUP BY account_id
),

total AS (
    SELECT count(*) AS weak_pairs FROM weak
)

SELECT
    w.account_a,
    w.account_b,
    a.cluster_id AS cluster_a,
    b.cluster_id AS cluster_b,
    da.degree AS degree_a,
    db.degree AS degree_b,
    total.weak_pairs
FROM weak AS w
JOIN _watch AS a ON a.account_id = w.account_a
JOIN _watch AS b ON b.account_id = w.account_b
JOIN degree AS da ON da.account_id = w.account_a
JOIN degree AS db ON db.account_id = w.account_b
CROSS JOIN total
WHERE a.cluster_id <> b.cluster_id
ORDER BY w.account_a, w.account_b
