-- account_link_null: one row per account of the window, evidence kind (a key type of
-- account_link_key, or same_prompt for the prompts of account_prompt_day) and rarity
-- stratum: what the window's null of unrelated accounts needs to say how many keys of that
-- stratum the account would share with another account by chance.
--   key_count        d: the account's keys of that kind (all of them, shared or not): how
--                    active it is;
--   coholder_count   S: over its keys of that stratum held by 2 to $max_key_accounts
--                    accounts, the sum of (accounts holding the key - 1): how many other
--                    accounts hold what it holds;
--   type_incidences  M: every (account, key) of that kind in the window.
-- An account with no key of the kind that another account holds has one row, stratum
-- NULL and S = 0. Under the null an account b holds a given key k of a with probability d_b (n_k - 1) / M
-- (b's keys fall on keys in proportion to their popularity), so the number of keys of
-- stratum s that a and b share by chance has mean (d_b S_a,s + d_a S_b,s) / (2 M)
-- (account_link_evidence). A band-day's n is its band's accounts over the window, as in
-- link_key: this overstates chance for a pair that shares it on one day, never understates
-- it. Prompts are counted as prompt_pair_day counts them: a key is a
-- prompt on one day, and only prompts at most $max_accounts_per_prompt accounts sent that
-- day count, in one stratum (0): prompt_pair_day counts shared prompts per pair, not per
-- prompt.
-- Input: account_link_key, account_prompt_day. Parameters: $start, $end,
-- $max_key_accounts, $max_accounts_per_prompt.
WITH keys AS (
    SELECT
        account_id,
        key_type,
        count(DISTINCT account_id) OVER (PARTITION BY key_type, popular_as) AS n,
        $max_key_accounts::BIGINT AS cap
    FROM (
        SELECT account_id, key_type, coalesce(popular_as, key_value) AS popular_as
        FROM account_link_key
    )
),

prompts AS (
    SELECT account_id, prompt_hash, date
    FROM account_prompt_day
    WHERE date BETWEEN $start AND $end
    GROUP BY account_id, prompt_hash, date
),

items AS (
    SELECT account_id, key_type, n, cap,
        CASE WHEN n >= 2 THEN floor(log2(n - 1))::INTEGER END AS stratum
    FROM keys
    UNION ALL
    SELECT account_id, 'same_prompt', count(*) OVER (PARTITION BY prompt_hash, date),
        $max_accounts_per_prompt::BIGINT, 0
    FROM prompts
),

per_account AS (
    SELECT
        account_id,
        key_type,
        count(*) AS key_count,
        sum(count(*)) OVER (PARTITION BY key_type) AS type_incidences
    FROM items
    GROUP BY account_id, key_type
),

per_stratum AS (
    SELECT
        account_id,
        key_type,
        CASE WHEN key_type = 'same_prompt' THEN 0 ELSE stratum END AS stratum,
        sum(n - 1) AS coholder_count
    FROM items
    WHERE n BETWEEN 2 AND cap
    GROUP BY ALL
)

SELECT
    a.account_id,
    a.key_type,
    s.stratum,
    a.key_count,
    coalesce(s.coholder_count, 0)::BIGINT AS coholder_count,
    a.type_incidences::BIGINT AS type_incidences
FROM per_account AS a
LEFT JOIN per_stratum AS s USING (account_id, key_type)
ORDER BY a.account_id, a.key_type, s.stratum NULLS FIRST
