-- reports/capability_mix: one row per flagged cluster and capability category, with its
-- share of the cluster's requests with text and the share of every cluster of the window.
-- Input: cluster_capability, _report_member.
WITH population AS (
    SELECT capability, sum(request_count) / sum(sum(request_count)) OVER ()
           AS population_share
    FROM cluster_capability GROUP BY capability
)

SELECT c.cluster_id, c.capability, c.request_count,
       c.request_count / sum(c.request_count) OVER (PARTITION BY c.cluster_id)
           AS share,
       p.population_share
FROM cluster_capability AS c JOIN population AS p USING (capability)
WHERE c.cluster_id IN (SELECT DISTINCT cluster_id FROM _report_member)
ORDER BY c.cluster_id, c.capability
