-- reports/cluster_figures: one row: the accounts of the window, its clusters, those of two
-- or more accounts, and the largest cluster's accounts.
-- Input: clusters.
SELECT count(*), count(DISTINCT cluster_id),
       count(DISTINCT cluster_id) FILTER (WHERE cluster_size > 1),
       max(cluster_size)
FROM clusters
