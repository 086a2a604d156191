-- run_events: one row per lineage event kind of a run: how many clusters it names.
-- Input: cluster_lineage. Parameters: $run_id.
SELECT event, count(*) AS clusters
FROM cluster_lineage
WHERE run_id = $run_id
GROUP BY event
ORDER BY event
