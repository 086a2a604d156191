-- account_keys: one row per linking key the account holds in the window, with how many
-- of the window's accounts hold it and its rarity weight (link_key; NULL when the account
-- alone holds it), rarest first.
-- Input: account_link_key, link_key. Parameters: $account_id, $limit.
SELECT
    k.key_type,
    k.key_value,
    l.account_count AS window_account_count,
    l.weight
FROM account_link_key AS k
LEFT JOIN link_key AS l USING (key_type, key_value)
WHERE k.account_id = $account_id
ORDER BY l.weight DESC NULLS LAST, k.key_type, k.key_value
LIMIT $limit
