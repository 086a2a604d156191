-- prefix_handoff_day: one row per ordered pair of accounts (account_id, previous_account_id),
-- cacheable prefix (model, system_hash) and day: requests of account_id whose prefix had last
-- been used, within $ttl_seconds, by previous_account_id and not by account_id itself.
-- Replayed at global scope, each would have been a cache hit had both accounts been one
-- operator's: within a cluster, these are the hits its spread over accounts cost it.
-- Prefixes more than $max_accounts_per_prefix accounts use that day (an SDK's default
-- prompt) are left out: they hand off between strangers all day long.
-- Input: requests (one day). Parameters: $ttl_seconds, $min_cacheable_tokens,
-- $max_accounts_per_prefix.
WITH cacheable AS (
    SELECT request_id, account_id, model, system_hash, ts
    FROM requests
    WHERE system_hash IS NOT NULL AND status BETWEEN 200 AND 299
        AND input_tokens + cache_creation_input_tokens + cache_read_input_tokens
            >= $min_cacheable_tokens
),

rare_prefixes AS (
    SELECT model, system_hash
    FROM cacheable
    GROUP BY model, system_hash
    HAVING count(DISTINCT account_id) <= $max_accounts_per_prefix
),

ordered AS (
    SELECT
        model,
        system_hash,
        account_id,
        epoch_us(ts) AS ts_us,
        lag(account_id) OVER w AS previous_account_id,
        lag(epoch_us(ts)) OVER w AS previous_us,
        max(epoch_us(ts)) OVER (
            PARTITION BY model, system_hash, account_id ORDER BY ts, request_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS own_previous_us
    FROM cacheable
    SEMI JOIN rare_prefixes USING (model, system_hash)
    WINDOW w AS (PARTITION BY model, system_hash ORDER BY ts, request_id)
),

final AS (
    SELECT account_id, previous_account_id, model, system_hash,
        count(*)::BIGINT AS handoff_count
    FROM ordered
    WHERE previous_account_id <> account_id
        AND ts_us - previous_us <= $ttl_seconds * 1000000
        AND (own_previous_us IS NULL OR ts_us - own_previous_us > $ttl_seconds * 1000000)
    GROUP BY account_id, previous_account_id, model, system_hash
)

SELECT * FROM final ORDER BY account_id, previous_account_id, model, system_hash
