-- cluster_capability: one row per cluster and capability category: the requests of the
-- cluster's accounts in the window that exercised it (prompts without text excluded).
-- The capability-coverage and divergence statistics read this and the population's mix.
-- Input: clusters, account_capability_day. Parameters: $start, $end.
SELECT m.cluster_id, c.capability, sum(c.request_count)::BIGINT AS request_count
FROM account_capability_day AS c
JOIN clusters AS m USING (account_id)
WHERE c.date BETWEEN $start AND $end AND c.capability <> 'unknown'
GROUP BY m.cluster_id, c.capability
ORDER BY m.cluster_id, c.capability
