-- cluster_key: one row per cluster and piece of linkage evidence inside it: for key types,
-- each key at least two of the cluster's accounts hold, with how many of them hold it, how
-- many accounts of the whole window hold it, and its rarity weight; for the pair types
-- (same_prompt, failover) one row per type with the pairs and accounts it ties inside the
-- cluster. This is the "why these accounts are one operator" table of the report.
-- Input: clusters, account_link_key, link_key, account_link_evidence.
WITH keys AS (
    SELECT c.cluster_id, k.key_type, k.key_value, count(*) AS cluster_account_count
    FROM account_link_key AS k
    JOIN clusters AS c USING (account_id)
    GROUP BY ALL
    HAVING count(*) >= 2
),

key_rows AS (
    SELECT
        k.cluster_id, k.key_type, k.key_value, k.cluster_account_count,
        w.account_count AS window_account_count, w.weight,
        NULL::BIGINT AS pair_count
    FROM keys AS k
    JOIN link_key AS w USING (key_type, key_value)
),

-- Each pair first takes its first account's cluster, materialized, and only then is its
-- second account looked up: left to itself the optimizer joined clusters to clusters on
-- cluster_id first, which is the square of the largest cluster's size (63 M rows for one
-- of 7,930 accounts).
pair_first AS MATERIALIZED (
    SELECT c.cluster_id, e.key_type, e.account_a, e.account_b
    FROM account_link_evidence AS e
    JOIN clusters AS c ON c.account_id = e.account_a
    WHERE e.key_type IN ('same_prompt', 'failover')
),

pair_edges AS (
    SELECT p.cluster_id, p.key_type, p.account_a, p.account_b
    FROM pair_first AS p
    JOIN clusters AS c ON c.account_id = p.account_b AND c.cluster_id = p.cluster_id
),

pair_rows AS (
    SELECT
        cluster_id, key_type, NULL::VARCHAR AS key_value,
        count(DISTINCT account) AS cluster_account_count,
        NULL::BIGINT AS window_account_count, NULL::DOUBLE AS weight,
        count(*) // 2 AS pair_count
    FROM (
        SELECT cluster_id, key_type, account_a AS account FROM pair_edges
        UNION ALL
        SELECT cluster_id, key_type, account_b FROM pair_edges
    )
    GROUP BY cluster_id, key_type
)

SELECT * FROM (SELECT * FROM key_rows UNION ALL SELECT * FROM pair_rows)
ORDER BY cluster_id, key_type, weight DESC NULLS LAST, key_value
