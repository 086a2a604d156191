-- account_link_count: one row per pair of accounts (account_a < account_b), evidence kind
-- and rarity stratum that ties them in the window: how many distinct things of that kind
-- they share (shared_count), the share of their shared keys that are independent
-- observations (unit_ratio), and for synchronized starts the chance mean of the day's null
-- (sync_expected). account_link_evidence sets each count against the null; counting
-- apart from it lets DuckDB spill the count's joins before the null's joins and the sort
-- begin (as one query the seedday window's evidence could not spill under 2 GiB).
-- Kinds:
--   key types of account_link_key held by 2 to $max_key_accounts accounts: distinct shared
--     keys of the stratum;
--   prompt_band: shared near-duplicate bands (distinct over the days both sent them)
--     divided by $bands_per_prompt, since one prompt shares up to that many bands at once
--     (correlated, counted once); unit_ratio scales the mean alike;
--   ip_prefix_hour: distinct shared prefixes; unit_ratio scales the mean alike;
--   sync_start: distinct shared start buckets; sync_expected is the day's null: an
--     account's starts of a day fall on that day's buckets in proportion to how many other
--     accounts start in them, so two accounts alive in the same week share buckets by
--     chance as often as their starts of those days allow. It is the sum over the days of
--     (d_b,t R_a,t + d_a,t R_b,t) / (2 W_t): d the account's starts on the day; R, over
--     its buckets of the stratum that day, the other accounts starting in them, the pair's
--     partner left out (it cannot explain itself), plus one per bucket; W every start of
--     the day plus one per bucket of the day (1440 / $sync_minutes): each bucket is as
--     likely as one account's start before the data says otherwise, so on a day only the
--     pair works their bucket is one of the day's, not theirs by definition;
--   same_prompt: distinct rare prompts sent within minutes of each other (prompt_pair_day);
--   the $registrant kinds (payment_fingerprint, creation_wave): one payer (one registrant)
--     at any count. Each
--     card's (wave's) accounts are tied to its first account (a star: n - 1 rows for n
--     accounts, not n(n - 1) / 2), which links them all.
-- Input: account_link_key, link_key, prompt_pair_day. Parameters: $start, $end,
-- $max_key_accounts, $bands_per_prompt, $sync_minutes, $registrant.
WITH shared_keys AS (
    SELECT k.account_id, k.key_type, k.key_value, w.stratum,
        CASE k.key_type
            WHEN 'prompt_band' THEN k.popular_as
            WHEN 'ip_prefix_hour' THEN split_part(k.key_value, ' ', 1)
            ELSE k.key_value END AS unit
    FROM account_link_key AS k
    JOIN link_key AS w USING (key_type, key_value)
    WHERE w.account_count <= $max_key_accounts
        AND NOT list_contains($registrant, k.key_type)
),

-- Every independent thing two accounts share (account_a < account_b) and how many keys
-- show it: the unit is the key itself, but a near-duplicate prompt's bands share its
-- prompt and an IP prefix's hours share the prefix.
key_units AS (
    SELECT a.account_id AS account_a, b.account_id AS account_b, a.key_type, a.stratum,
        a.unit, count(*) AS key_count
    FROM shared_keys AS a
    JOIN shared_keys AS b
        ON a.key_type = b.key_type AND a.key_value = b.key_value
        AND a.account_id < b.account_id
    GROUP BY ALL
),

-- unit_ratio turns shared keys into independent observations: a near-duplicate prompt
-- shares up to $bands_per_prompt bands at once, two apps answering one daily feed share
-- its bands every day, and two always-on services in one cloud /24 share it every hour;
-- each is one coincidence repeated, so the count is of prompts (distinct bands /
-- $bands_per_prompt) and of distinct prefixes, and the chance expectation is scaled by the
-- same ratio.
key_pairs AS (
    SELECT
        account_a, account_b, key_type, stratum,
        CASE key_type
            WHEN 'prompt_band' THEN count(unit) / $bands_per_prompt
            WHEN 'ip_prefix_hour' THEN count(unit)
            ELSE sum(key_count) END::DOUBLE AS shared_count,
        CASE key_type
            WHEN 'prompt_band' THEN count(unit) / sum(key_count) / $bands_per_prompt
            WHEN 'ip_prefix_hour' THEN count(unit) / sum(key_count)
            ELSE 1.0 END::DOUBLE AS unit_ratio
    FROM key_units
    GROUP BY account_a, account_b, key_type, stratum
),

cards AS (
    SELECT k.account_id, k.key_type, k.key_value, w.stratum,
        min(k.account_id) OVER (PARTITION BY k.key_type, k.key_value) AS hub
    FROM account_link_key AS k
    JOIN link_key AS w USING (key_type, key_value)
    WHERE list_contains($registrant, k.key_type)
),

card_pairs AS (
    SELECT hub AS account_a, account_id AS account_b, key_type,
        min(stratum) AS stratum, count(*)::DOUBLE AS shared_count, 1.0 AS unit_ratio
    FROM cards
    WHERE account_id <> hub
    GROUP BY ALL
),

prompt_pairs AS (
    SELECT account_a, account_b, 'same_prompt' AS key_type, 0 AS stratum,
        sum(shared_prompt_count)::DOUBLE AS shared_count, 1.0 AS unit_ratio
    FROM prompt_pair_day
    WHERE date BETWEEN $start AND $end
    GROUP BY ALL
),

sync_keys AS (
    SELECT k.account_id, k.key_value, left(k.key_value, 10) AS day,
        coalesce(w.account_count, 1) AS n,
        CASE WHEN w.account_count <= $max_key_accounts THEN w.stratum END AS stratum
    FROM account_link_key AS k
    LEFT JOIN link_key AS w USING (key_type, key_value)
    WHERE k.key_type = 'sync_start'
),

sync_day AS (
    SELECT account_id, day, count(*) AS starts,
        sum(count(*)) OVER (PARTITION BY day) + 1440 // $sync_minutes AS day_weight
    FROM sync_keys
    GROUP BY account_id, day
),

sync_reach AS (
    SELECT account_id, day, stratum, sum(n - 1) + count(*) AS reach
    FROM sync_keys
    WHERE stratum IS NOT NULL
    GROUP BY ALL
),

sync_shared AS (
    SELECT account_a, account_b, left(unit, 10) AS day, stratum, sum(key_count) AS shared
    FROM key_units
    WHERE key_type = 'sync_start'
    GROUP BY ALL
),

sync_sides AS (
    SELECT account_a, account_b, stratum, account_a AS holder, account_b AS partner
    FROM key_pairs
    WHERE key_type = 'sync_start'
    UNION ALL
    SELECT account_a, account_b, stratum, account_b, account_a
    FROM key_pairs
    WHERE key_type = 'sync_start'
),

sync_mean AS (
    SELECT p.account_a, p.account_b, 'sync_start' AS key_type, p.stratum,
        -- summed in one order, as a list: a parallel sum of doubles may add the days in
        -- another order on another run, and the same inputs are to give the same bytes
        list_sum(list((r.reach - coalesce(s.shared, 0)) * h.starts / (2 * h.day_weight)
            ORDER BY r.day, p.holder)) AS expected_count
    FROM sync_sides AS p
    JOIN sync_reach AS r ON r.account_id = p.holder AND r.stratum = p.stratum
    JOIN sync_day AS h ON h.account_id = p.partner AND h.day = r.day
    LEFT JOIN sync_shared AS s
        ON s.account_a = p.account_a AND s.account_b = p.account_b AND s.day = r.day
        AND s.stratum = p.stratum
    GROUP BY ALL
),

counted AS (
    SELECT * FROM key_pairs
    UNION ALL SELECT * FROM card_pairs
    UNION ALL SELECT * FROM prompt_pairs
)

SELECT c.account_a, c.account_b, c.key_type, c.stratum::INTEGER AS stratum, c.shared_count,
    c.unit_ratio, sm.expected_count AS sync_expected
FROM counted AS c
LEFT JOIN sync_mean AS sm USING (account_a, account_b, key_type, stratum)
ORDER BY c.account_a, c.account_b, c.key_type, c.stratum
