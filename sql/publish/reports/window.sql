-- reports/window: one row, the first and last day of the clusters' window.
-- Input: clusters.
SELECT min(window_start), max(window_end) FROM clusters
