-- validation_cluster_membership: one row per account of the clusters' window (an account
-- with an account_day row inside it) and per row of clusters, joined on account_id: the
-- frame the membership expectations read (each window account in exactly one cluster,
-- cluster_size equal to the cluster's account count, no account from outside the window).
-- Input: clusters, window_account_day (the account_day partitions of the window).
WITH window_accounts AS (
    SELECT DISTINCT account_id FROM window_account_day
),

members AS (
    SELECT
        account_id,
        cluster_id,
        cluster_size,
        count(*) OVER (PARTITION BY cluster_id) AS member_count
    FROM clusters
),

final AS (
    SELECT
        coalesce(m.account_id, w.account_id) AS account_id,
        m.cluster_id,
        m.cluster_size,
        m.member_count,
        w.account_id IS NOT NULL AS in_window
    FROM members AS m
    FULL JOIN window_accounts AS w USING (account_id)
)

SELECT * FROM final ORDER BY account_id, cluster_id
