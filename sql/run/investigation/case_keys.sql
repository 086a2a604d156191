-- case_keys: one row per linking key at least two of the case's accounts hold (or pair
-- type: same_prompt, failover), as cluster_key records it; weight is the key's rarity in
-- the window (link_key) and held_weight that rarity summed over the case's holders, the
-- order: a key many of the case's accounts hold and few others do comes first.
-- Input: cluster_key. Parameters: $cluster_id, $limit.
SELECT
    key_type,
    key_value,
    cluster_account_count,
    window_account_count,
    weight,
    cluster_account_count * weight AS held_weight,
    pair_count
FROM cluster_key
WHERE cluster_id = $cluster_id
ORDER BY held_weight DESC NULLS LAST, key_type, key_value
LIMIT $limit
