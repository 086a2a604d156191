-- link_key: one row per linking key held by at least two accounts of the window: how many
-- accounts hold it, its rarity stratum (floor(log2(accounts - 1)): keys of like
-- popularity are tested together in account_link_evidence) and its weight, the surprise of
-- one account of the window holding it by chance: log10((window accounts - 1) /
-- (accounts - 1)). 0 when every account holds it; about 4 for a key two of 10,000
-- accounts share. The weight orders keys for the reader; the evidence of a pair is
-- measured in account_link_evidence, not summed from these weights.
-- Input: account_link_key.
WITH counted AS (
    SELECT key_type, key_value, count(*) AS account_count
    FROM account_link_key
    GROUP BY key_type, key_value
),

population AS (
    SELECT count(DISTINCT account_id) AS window_accounts FROM account_link_key
)

SELECT
    c.key_type,
    c.key_value,
    c.account_count,
    floor(log2(c.account_count - 1))::INTEGER AS stratum,
    log10(greatest(p.window_accounts - 1, 1) / (c.account_count - 1)) AS weight
FROM counted AS c
CROSS JOIN population AS p
WHERE c.account_count >= 2
ORDER BY c.key_type, c.key_value
