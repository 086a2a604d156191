-- account_link_evidence: one row per pair of accounts (account_a < account_b), evidence
-- kind and rarity stratum that ties them in the window: how many distinct things of that
-- kind they share (shared_count) and how many two unrelated accounts of this window with
-- their activity would share by chance (expected_count, the Poisson mean of the null in
-- account_link_null). linking.py adds p_value, the Poisson tail P(X >= shared_count)
-- (scipy.special.gammainc(shared_count, expected_count)), and surprise = -log10(p_value).
-- Kinds:
--   key types of account_link_key held by 2 to $max_key_accounts accounts: distinct shared
--     keys of the stratum;
--   prompt_band: shared near-duplicate bands (distinct over the days both sent them)
--     divided by $bands_per_prompt, since one prompt shares up to that many bands at once
--     (correlated, counted once); the mean scaled alike (unit_ratio below);
--   ip_prefix_hour: distinct shared prefixes, the mean scaled alike (unit_ratio below);
--   sync_start: distinct shared start buckets, against the window's null or the null of
--     each day, whichever expects more: under the day's an account's starts of a day fall on that day's buckets in
--     proportion to how many other accounts start in them, so two accounts alive in the
--     same week share buckets by chance as often as their starts of those days allow.
--     The mean is the sum over the days of (d_b,t R_a,t + d_a,t R_b,t) / (2 W_t): d the
--     account's starts on the day; R, over its buckets of the stratum that day, the other
--     accounts starting in them, the pair's partner left out (it cannot explain itself),
--     plus one per bucket; W every start of the day plus one per bucket of the day
--     (1440 / $sync_minutes): each bucket is as likely as one account's start before the
--     data says otherwise, so on a day only the pair works their bucket is one of the
--     day's, not theirs by definition. Against the window's null alone two campaigns busy
--     in the same days of a month shared thousands of chance buckets, which chained them
--     into one community; the day's null alone would expect less than the window's on a
--     day of few starts, and chance pairs are not to gain from it;
--   same_prompt: distinct rare prompts sent within minutes of each other (prompt_pair_day);
--   payment_fingerprint: one payer at any count. Each card's accounts are tied to its
--     first account (a star: n - 1 rows for n accounts, not n(n - 1) / 2), which links them
--     all; linking.py gives these rows the edge threshold's surprise;
--   failover: 429s on one account followed within seconds by the same prompt on the other
--     (failover_day), against chance: the prompts the pair shares within minutes times the
--     window's 429 rate, as if the pair always sent its shared prompts seconds apart (two
--     apps answering the same public feed do; so a 429 among them is no evidence).
-- Input: account_link_key, link_key, account_link_null, prompt_pair_day, failover_day,
-- account_day, link_type (key_type, family). Parameters: $start, $end, $max_key_accounts,
-- $bands_per_prompt, $sync_minutes.
WITH shared_keys AS (
    SELECT k.account_id, k.key_type, k.key_value, k.popular_as, w.stratum
    FROM account_link_key AS k
    JOIN link_key AS w USING (key_type, key_value)
    WHERE w.account_count <= $max_key_accounts AND k.key_type <> 'payment_fingerprint'
),

-- Every key two accounts share, once per pair (account_a < account_b).
key_rows AS (
    SELECT a.account_id AS account_a, b.account_id AS account_b, a.key_type, a.stratum,
        a.key_value, a.popular_as
    FROM shared_keys AS a
    JOIN shared_keys AS b
        ON a.key_type = b.key_type AND a.key_value = b.key_value
        AND a.account_id < b.account_id
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
            WHEN 'prompt_band' THEN count(DISTINCT popular_as) / $bands_per_prompt
            WHEN 'ip_prefix_hour' THEN count(DISTINCT split_part(key_value, ' ', 1))
            ELSE count(*) END::DOUBLE AS shared_count,
        CASE key_type
            WHEN 'prompt_band' THEN count(DISTINCT popular_as) / count(*) / $bands_per_prompt
            WHEN 'ip_prefix_hour' THEN count(DISTINCT split_part(key_value, ' ', 1)) / count(*)
            ELSE 1.0 END::DOUBLE AS unit_ratio
    FROM key_rows
    GROUP BY account_a, account_b, key_type, stratum
),

cards AS (
    SELECT k.account_id, k.key_value, w.stratum,
        min(k.account_id) OVER (PARTITION BY k.key_value) AS hub
    FROM account_link_key AS k
    JOIN link_key AS w USING (key_type, key_value)
    WHERE k.key_type = 'payment_fingerprint'
),

card_pairs AS (
    SELECT hub AS account_a, account_id AS account_b, 'payment_fingerprint' AS key_type,
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

activity AS (
    SELECT DISTINCT account_id, key_type, key_count, type_incidences
    FROM account_link_null
),

coholders AS (
    SELECT account_id, key_type, stratum, coholder_count
    FROM account_link_null
    WHERE stratum IS NOT NULL
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
    SELECT account_a, account_b, left(key_value, 10) AS day, stratum, count(*) AS shared
    FROM key_rows
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
    SELECT p.account_a, p.account_b, p.stratum,
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
),

expected AS (
    SELECT
        c.account_a, c.account_b, c.key_type, c.stratum, c.shared_count,
        greatest((coalesce(da.key_count, 0) * coalesce(sb.coholder_count, 0)
            + coalesce(db.key_count, 0) * coalesce(sa.coholder_count, 0))::DOUBLE
            / (2 * greatest(coalesce(da.type_incidences, db.type_incidences), 1))
            * c.unit_ratio, coalesce(sm.expected_count, 0.0)) AS expected_count
    FROM counted AS c
    LEFT JOIN sync_mean AS sm USING (account_a, account_b, stratum)
    LEFT JOIN activity AS da ON da.account_id = c.account_a AND da.key_type = c.key_type
    LEFT JOIN activity AS db ON db.account_id = c.account_b AND db.key_type = c.key_type
    LEFT JOIN coholders AS sa
        ON sa.account_id = c.account_a AND sa.key_type = c.key_type AND sa.stratum = c.stratum
    LEFT JOIN coholders AS sb
        ON sb.account_id = c.account_b AND sb.key_type = c.key_type AND sb.stratum = c.stratum
),

rate_limited AS (
    SELECT sum(rate_limited_count)::DOUBLE / greatest(sum(request_count), 1) AS share
    FROM account_day
    WHERE date BETWEEN $start AND $end
),

failovers AS (
    SELECT
        f.account_a, f.account_b, 'failover' AS key_type, 0 AS stratum,
        f.event_count::DOUBLE AS shared_count,
        greatest(coalesce(p.shared_count, 0), 1) * r.share
            AS expected_count
    FROM (
        SELECT
            least(account_id, next_account_id) AS account_a,
            greatest(account_id, next_account_id) AS account_b,
            sum(event_count) AS event_count
        FROM failover_day
        WHERE date BETWEEN $start AND $end
        GROUP BY ALL
    ) AS f
    LEFT JOIN prompt_pairs AS p USING (account_a, account_b)
    CROSS JOIN rate_limited AS r
)

SELECT e.account_a, e.account_b, t.family, e.key_type, e.stratum::INTEGER AS stratum,
    e.shared_count, e.expected_count
FROM (SELECT * FROM expected UNION ALL SELECT * FROM failovers) AS e
JOIN link_type AS t USING (key_type)
ORDER BY e.account_a, e.account_b, e.key_type, e.stratum
