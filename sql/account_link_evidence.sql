-- account_link_evidence: one row per pair of accounts (account_a < account_b) and link
-- type that ties them in the window: the shared keys' summed rarity weight (or the count
-- of shared prompts within minutes, or of 429 failovers), and that evidence's contribution
-- to the edge after the type's multiplier and cap. Weights are summed as DECIMAL: a sum of
-- doubles depends on the order threads add them in, and the same inputs must give the
-- same bytes. The cap is what keeps one weak type
-- (an IP prefix, a user agent) from merging accounts on its own.
-- Input: account_link_key, link_key, prompt_pair_day, failover_day, link_type (the
-- parameters: key_type, family, multiplier, cap, family_cap). Parameters: $start, $end,
-- $failover_min_share.
WITH weighted AS (
    SELECT k.account_id, k.key_type, k.key_value, w.weight
    FROM account_link_key AS k
    JOIN link_key AS w USING (key_type, key_value)
    WHERE w.weight > 0
),

key_pairs AS (
    SELECT
        a.account_id AS account_a,
        b.account_id AS account_b,
        a.key_type,
        count(*) AS shared_count,
        sum(a.weight::DECIMAL(38, 18))::DOUBLE AS evidence
    FROM weighted AS a
    JOIN weighted AS b
        ON a.key_type = b.key_type AND a.key_value = b.key_value
        AND a.account_id < b.account_id
    GROUP BY ALL
),

prompt_pairs AS (
    SELECT account_a, account_b, 'same_prompt' AS key_type,
        sum(shared_prompt_count) AS shared_count,
        sum(shared_prompt_count)::DOUBLE AS evidence
    FROM prompt_pair_day
    WHERE date BETWEEN $start AND $end
    GROUP BY ALL
),

failover_counts AS (
    SELECT
        least(account_id, next_account_id) AS account_a,
        greatest(account_id, next_account_id) AS account_b,
        sum(event_count) AS event_count
    FROM failover_day
    WHERE date BETWEEN $start AND $end
    GROUP BY ALL
),

-- A pair's failovers count only when they are at least $failover_min_share of the prompts
-- it shares within minutes: for a key pool most shared prompts are retries, while two
-- busy apps that share a thousand public prompts meet after a 429 now and then by chance.
failovers AS (
    SELECT
        f.account_a, f.account_b, 'failover' AS key_type,
        f.event_count AS shared_count,
        CASE WHEN f.event_count >= $failover_min_share * coalesce(p.shared_count, 0)
            THEN f.event_count ELSE 0 END::DOUBLE AS evidence
    FROM failover_counts AS f
    LEFT JOIN prompt_pairs AS p USING (account_a, account_b)
),

final AS (
    SELECT
        e.account_a, e.account_b, t.family, e.key_type,
        e.shared_count::BIGINT AS shared_count, e.evidence,
        least(e.evidence * t.multiplier, t.cap) AS contribution,
        t.family_cap
    FROM (
        SELECT * FROM key_pairs
        UNION ALL SELECT * FROM prompt_pairs
        UNION ALL SELECT * FROM failovers
    ) AS e
    JOIN link_type AS t USING (key_type)
)

SELECT * FROM final ORDER BY account_a, account_b, key_type
