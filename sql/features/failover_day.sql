-- failover_day: one row per ordered pair of accounts (account_id, next_account_id) such
-- that, on the UTC day $day, a 429 on account_id was followed within $failover_seconds
-- (inclusive) by the same prompt_hash on next_account_id: key-pool proxies retry a
-- rate-limited request on another key that way. Each 429 counts once, for the first other
-- account to send its prompt (ties: the smallest account_id), so A -> B -> C chains give
-- A->B and B->C, not A->C. Only prompts sent by at most $max_accounts_per_prompt accounts
-- that day count: a 429 on "hi" followed by somebody else's "hi" is no failover.
-- Inputs: requests (the day's partition).
-- Parameters: $day, $failover_seconds, $max_accounts_per_prompt.
-- The join is bounded by time: the clock is cut into $failover_seconds-wide slots and a
-- 429 is compared only with requests of its prompt in its own slot and the next one, so
-- a popular prompt costs what its traffic within seconds costs, never a cross product.
WITH

requests_of_day AS (
    SELECT
        request_id,
        account_id,
        prompt_hash,
        status,
        ts,
        epoch_us(ts) AS ts_us,
        epoch_us(ts) // ($failover_seconds::DOUBLE * 1000000)::BIGINT AS slot
    FROM requests
    WHERE ts >= $day::DATE::TIMESTAMPTZ AND ts < ($day::DATE + 1)::TIMESTAMPTZ
        AND prompt_hash IS NOT NULL
),

rare_prompts AS (
    SELECT prompt_hash
    FROM requests_of_day
    GROUP BY prompt_hash
    HAVING count(DISTINCT account_id) <= $max_accounts_per_prompt
),

rate_limited AS (
    SELECT request_id, account_id, prompt_hash, ts, ts_us, slot + unnest([0, 1]) AS probe_slot
    FROM requests_of_day
    SEMI JOIN rare_prompts USING (prompt_hash)
    WHERE status = 429
),

retries AS (
    SELECT
        r.request_id,
        r.account_id,
        r.prompt_hash,
        r.ts AS rate_limited_at,
        n.account_id AS next_account_id
    FROM rate_limited AS r
    INNER JOIN requests_of_day AS n
        ON n.prompt_hash = r.prompt_hash
        AND n.slot = r.probe_slot
        AND n.account_id <> r.account_id
        AND n.ts_us BETWEEN r.ts_us AND r.ts_us + ($failover_seconds::DOUBLE * 1000000)::BIGINT
    QUALIFY row_number() OVER (
        PARTITION BY r.request_id ORDER BY n.ts_us, n.account_id
    ) = 1
),

final AS (
    SELECT
        account_id,
        next_account_id,
        count(*) AS event_count,
        count(DISTINCT prompt_hash) AS distinct_prompt_hash_count,
        min(rate_limited_at) AS first_event_at,
        max(rate_limited_at) AS last_event_at
    FROM retries
    GROUP BY account_id, next_account_id
)

SELECT * FROM final
ORDER BY account_id, next_account_id
