-- cluster_cache_collision: one row per cluster and cacheable prefix (model, system_hash)
-- that two or more of its accounts sent in the window: how many accounts, requests and
-- cache writes, the writes one account would have needed (the cacheable requests less
-- the hits of each account's own repetition and the hits lost to handoffs between the
-- cluster's accounts), and those handoffs. prefix_hash names the prefix in one column.
-- Input: clusters, account_prefix_day, prefix_handoff_day. Parameters: $start, $end.
WITH prefixes AS (
    SELECT m.cluster_id, p.model, p.system_hash,
        count(DISTINCT p.account_id)::BIGINT AS account_count,
        sum(p.cacheable_count)::BIGINT AS request_count,
        sum(p.observed_write_count)::BIGINT AS write_count,
        sum(p.predicted_hit_count)::BIGINT AS predicted_hit_count
    FROM account_prefix_day AS p
    JOIN clusters AS m USING (account_id)
    WHERE p.date BETWEEN $start AND $end
    GROUP BY ALL
    HAVING count(DISTINCT p.account_id) >= 2
),

handoffs AS (
    SELECT ma.cluster_id, h.model, h.system_hash, sum(h.handoff_count)::BIGINT AS handoff_count
    FROM prefix_handoff_day AS h
    JOIN clusters AS ma ON ma.account_id = h.account_id
    JOIN clusters AS mb ON mb.account_id = h.previous_account_id
        AND mb.cluster_id = ma.cluster_id
    WHERE h.date BETWEEN $start AND $end
    GROUP BY ALL
)

SELECT
    p.cluster_id,
    p.model || ':' || p.system_hash AS prefix_hash,
    p.account_count,
    p.request_count,
    p.write_count,
    greatest(p.request_count - p.predicted_hit_count - coalesce(h.handoff_count, 0), 0)
        ::BIGINT AS expected_write_count,
    coalesce(h.handoff_count, 0)::BIGINT AS handoff_count
FROM prefixes AS p
LEFT JOIN handoffs AS h USING (cluster_id, model, system_hash)
ORDER BY p.cluster_id, prefix_hash
