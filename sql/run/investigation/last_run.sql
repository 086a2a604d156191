-- last_run: the one row of the latest run that recorded cluster lineage: its id, the day
-- its window ends and when it finished.
-- Input: runs, cluster_lineage.
SELECT r.run_id, l.window_end, r.finished_at
FROM runs AS r
JOIN (SELECT DISTINCT run_id, window_end FROM cluster_lineage) AS l USING (run_id)
WHERE r.status = 'succeeded'
ORDER BY r.finished_at DESC, r.run_id DESC
LIMIT 1
