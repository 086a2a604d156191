-- run_lineage: one row per lineage event of a run (cluster_lineage) other than a cluster
-- that continued unchanged, with the cluster's verdict now. $cases_only keeps the events
-- of clusters whose verdict is one of $case_verdicts (in the order given, which is also
-- the sort order) and the ended ones, which have no verdict now.
-- Input: cluster_lineage, cluster_findings. Parameters: $run_id, $cases_only,
-- $case_verdicts.
SELECT
    l.cluster_id,
    l.event,
    l.previous_id,
    l.overlap,
    l.n_accounts,
    f.verdict
FROM cluster_lineage AS l
LEFT JOIN cluster_findings AS f USING (cluster_id)
WHERE l.run_id = $run_id
    AND l.event <> 'continued'
    AND (NOT $cases_only OR list_contains($case_verdicts, f.verdict) OR l.event = 'ended')
ORDER BY
    coalesce(list_position($case_verdicts, f.verdict), len($case_verdicts) + 1),
    l.event, l.cluster_id, l.previous_id
