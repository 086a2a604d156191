-- link_key: one row per linking key held by at least two accounts of the window: how many
-- accounts hold it, its rarity stratum (floor(log2(accounts - 1)): keys of like
-- popularity are tested together in account_link_evidence) and its weight, the surprise of
-- one account of the window holding it by chance: log10((window accounts - 1) /
-- (accounts - 1)). 0 when every account holds it; about 4 for a key two of 10,000
-- accounts share. The weight orders keys for the reader; the evidence of a pair is
-- measured in account_link_evidence, not summed from these weights.
-- A prompt band is keyed by day but counted by its accounts over the window
-- (account_link_key.popular_as): a question many accounts ask on different days is popular
-- on each day, however few ask it that day.
-- Input: account_link_key.
WITH keys AS (
    SELECT
        key_type,
        key_value,
        account_id,
        coalesce(popular_as, key_value) AS popular_as
    FROM account_link_key
),

counted AS (
    SELECT
        key_type,
        key_value,
        count(*) AS holder_count,
        any_value(popular_as) AS popular_as
    FROM keys
    GROUP BY key_type, key_value
),

popularity AS (
    SELECT key_type, popular_as, count(DISTINCT account_id) AS account_count
    FROM keys
    GROUP BY key_type, popular_as
),

population AS (
    SELECT count(DISTINCT account_id) AS window_accounts FROM account_link_key
)

SELECT
    c.key_type,
    c.key_value,
    p.account_count,
    floor(log2(p.account_count - 1))::INTEGER AS stratum,
    log10(greatest(n.window_accounts - 1, 1) / (p.account_count - 1)) AS weight
FROM counted AS c
JOIN popularity AS p USING (key_type, popular_as)
CROSS JOIN population AS n
WHERE c.holder_count >= 2
ORDER BY c.key_type, c.key_value
