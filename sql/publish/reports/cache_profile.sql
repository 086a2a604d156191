-- reports/cache_profile: one row per flagged cluster, and one whose cluster_id is
-- 'population' summed over every cluster of the window, with the cache replay's counts.
-- Input: cluster_profile, _report_member.
SELECT cluster_id, cacheable_count, predicted_hit_count, observed_read_count, busted_count,
       handoff_count, read_without_write_count
FROM cluster_profile
WHERE cluster_id IN (SELECT DISTINCT cluster_id FROM _report_member)
UNION ALL
SELECT 'population' AS cluster_id, sum(cacheable_count)::BIGINT AS cacheable_count,
       sum(predicted_hit_count)::BIGINT AS predicted_hit_count,
       sum(observed_read_count)::BIGINT AS observed_read_count,
       sum(busted_count)::BIGINT AS busted_count, sum(handoff_count)::BIGINT AS handoff_count,
       sum(read_without_write_count)::BIGINT AS read_without_write_count
FROM cluster_profile
ORDER BY cluster_id
