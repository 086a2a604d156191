-- reports/cache_collision: one row per flagged cluster and cacheable prefix that two or
-- more of its accounts sent, with the cache writes it took against those one account needs.
-- Input: cluster_cache_collision, _report_member.
SELECT cluster_id, prefix_hash, account_count, request_count, write_count,
       expected_write_count, handoff_count
FROM cluster_cache_collision
WHERE cluster_id IN (SELECT DISTINCT cluster_id FROM _report_member)
ORDER BY ALL
