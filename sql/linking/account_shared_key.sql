-- account_shared_key: one row per account of the window and key it shares with at least one
-- other account: the trials of the member test (linking.confirm_members), which asks of each
-- account how many of the accounts it shares things with belong to its own community,
-- against how many would by chance.
--   unit             what is one observation over several keys: the hours of one IP
--                    prefix, the days of one near-duplicate band (the test counts a unit's
--                    co-holders once, not once per hour or day);
--   unit_weight      what the unit counts for: a band 1 / $bands_per_prompt (one prompt
--                    shares that many bands at once), as in account_link_evidence;
--   locale           where the draws come from, when not from the whole window: the hour
--                    of a synchronized start (who is starting work in that hour; a
--                    campaign working around the clock is most of them). NULL: the
--                    window's accounts, in proportion to their activity. (An IP prefix as
--                    the locale of its hours would also take away what a crew moving
--                    together between its own rare prefixes shares: the prefix's users
--                    would be the crew.)
-- Keys are those account_link_evidence weighs: held by 2 to $max_key_accounts accounts,
-- the $registrant kinds (cards, creation waves) left out (one payer or registrant at any
-- count, joined apart);
-- and, for same_prompt, the prompts of a day that 2 to $max_accounts_per_prompt accounts
-- sent (account_link_null's items).
-- Input: account_link_key, link_key, account_prompt_day. Parameters: $start, $end,
-- $max_key_accounts, $max_accounts_per_prompt, $bands_per_prompt, $registrant.
WITH keys AS (
    SELECT
        k.account_id,
        k.key_type,
        k.key_value,
        CASE k.key_type
            WHEN 'ip_prefix_hour' THEN split_part(k.key_value, ' ', 1)
            ELSE coalesce(k.popular_as, k.key_value)
        END AS unit,
        CASE WHEN k.key_type = 'prompt_band' THEN 1.0 / $bands_per_prompt ELSE 1.0 END
            AS unit_weight,
        CASE WHEN k.key_type = 'sync_start' THEN left(k.key_value, 13) END AS locale
    FROM account_link_key AS k
    JOIN link_key AS w USING (key_type, key_value)
    WHERE w.account_count <= $max_key_accounts
        AND NOT list_contains($registrant, k.key_type)
),

prompts AS (
    SELECT DISTINCT account_id, prompt_hash || ' ' || strftime(date, '%Y-%m-%d') AS key_value
    FROM account_prompt_day
    WHERE date BETWEEN $start AND $end
),

rare_prompts AS (
    SELECT
        account_id,
        'same_prompt' AS key_type,
        key_value,
        key_value AS unit,
        1.0 AS unit_weight,
        NULL AS locale
    FROM prompts
    QUALIFY count(*) OVER (PARTITION BY key_value) BETWEEN 2 AND $max_accounts_per_prompt
)

SELECT account_id, key_type, key_value, unit, unit_weight::DOUBLE AS unit_weight,
    locale::VARCHAR AS locale
FROM (SELECT * FROM keys UNION ALL SELECT * FROM rare_prompts)
ORDER BY account_id, key_type, key_value
