-- cluster_cache_day: one row per cluster and day of the window with cacheable traffic: the
-- cache replay's counts (cacheable requests, hits the accounts' own repetition predicts,
-- cache reads observed, hits lost to prefixes passed between the cluster's accounts),
-- for the report's "expected against observed cache hits over time".
-- Input: clusters, account_prefix_day, prefix_handoff_day. Parameters: $start, $end.
WITH prefixes AS (
    SELECT m.cluster_id, p.date,
        sum(p.cacheable_count)::BIGINT AS cacheable_count,
        sum(p.predicted_hit_count)::BIGINT AS predicted_hit_count,
        sum(p.observed_read_count)::BIGINT AS observed_read_count
    FROM account_prefix_day AS p
    JOIN clusters AS m USING (account_id)
    WHERE p.date BETWEEN $start AND $end
    GROUP BY ALL
),

handoffs AS (
    SELECT ma.cluster_id, h.date, sum(h.handoff_count)::BIGINT AS handoff_count
    FROM prefix_handoff_day AS h
    JOIN clusters AS ma ON ma.account_id = h.account_id
    JOIN clusters AS mb ON mb.account_id = h.previous_account_id
        AND mb.cluster_id = ma.cluster_id
    WHERE h.date BETWEEN $start AND $end
    GROUP BY ALL
)

SELECT p.*, coalesce(h.handoff_count, 0)::BIGINT AS handoff_count
FROM prefixes AS p
LEFT JOIN handoffs AS h USING (cluster_id, date)
ORDER BY p.cluster_id, p.date
