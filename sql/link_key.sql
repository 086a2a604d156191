-- link_key: one row per linking key held by at least two accounts of the window: how
-- many accounts hold it and its rarity weight in [0, 1]. The weight is an IDF-like
-- 1 - ln(accounts - 1) / ln(max_accounts of its type): 1 for a key two accounts share,
-- falling to 0 for a key max_accounts or more accounts share, so a public NAT, a VPN exit,
-- a cloud range, a free e-mail domain or an SDK's default prompt links nobody.
-- Input: account_link_key, link_type (the linking parameters, one row per key type).
WITH counted AS (
    SELECT key_type, key_value, count(*) AS account_count
    FROM account_link_key
    GROUP BY key_type, key_value
    HAVING count(*) >= 2
)

SELECT
    c.key_type,
    c.key_value,
    c.account_count,
    greatest(0.0, 1.0 - ln(c.account_count - 1) / ln(t.max_accounts::DOUBLE)) AS weight
FROM counted AS c
JOIN link_type AS t USING (key_type)
ORDER BY c.key_type, c.key_value
