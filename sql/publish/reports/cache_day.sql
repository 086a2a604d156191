-- reports/cache_day: one row per flagged cluster and UTC day with a cacheable request:
-- the cache replay's counts per day.
-- Input: cluster_cache_day, _report_member.
SELECT cluster_id, date, cacheable_count, predicted_hit_count, observed_read_count,
       handoff_count
FROM cluster_cache_day
WHERE cluster_id IN (SELECT DISTINCT cluster_id FROM _report_member)
ORDER BY ALL
