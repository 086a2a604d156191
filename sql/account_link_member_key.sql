-- account_link_member_key (a query linking.confirm_members reads, not a stored table): one
-- row per account and key it holds that 2 to a limit of the window's accounts hold, with
-- the key's rarity stratum and how many accounts hold it: the keys of account_link_key held by at most
-- $max_key_accounts accounts, and the prompts of a day (key type same_prompt, stratum 0,
-- as in account_link_null) sent by at most $max_accounts_per_prompt accounts that day.
-- Input: account_link_key, link_key, account_prompt_day. Parameters: $start, $end,
-- $max_key_accounts, $max_accounts_per_prompt.
WITH prompts AS (
    SELECT account_id, prompt_hash || ' ' || date::VARCHAR AS prompt_day
    FROM account_prompt_day
    WHERE date BETWEEN $start AND $end
    GROUP BY account_id, prompt_hash, date
)

SELECT k.account_id, k.key_type, k.key_value, w.stratum, w.account_count
FROM account_link_key AS k
JOIN link_key AS w USING (key_type, key_value)
WHERE w.account_count <= $max_key_accounts
UNION ALL
SELECT account_id, 'same_prompt', prompt_day, 0, n
FROM (SELECT *, count(*) OVER (PARTITION BY prompt_day) AS n FROM prompts)
WHERE n BETWEEN 2 AND $max_accounts_per_prompt
ORDER BY ALL
