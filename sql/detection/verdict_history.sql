-- verdict_history: one row per cluster of one run: the run's verdict of it, appended to the
-- verdicts of every earlier run (cluster_findings holds only the last). Input:
-- cluster_findings and clusters (for the window's last day). Parameters: $run_id.
SELECT
    $run_id AS run_id,
    w.window_end,
    f.cluster_id,
    f.verdict,
    f.risk_score,
    f.n_accounts,
    f.joined_case
FROM cluster_findings AS f
CROSS JOIN (SELECT max(window_end) AS window_end FROM clusters) AS w
ORDER BY f.cluster_id
