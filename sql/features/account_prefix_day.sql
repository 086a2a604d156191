-- account_prefix_day: one row per account, day, model and system prompt (the cacheable
-- prefix) the account sent: what the prompt cache saw (requests that read it or wrote it)
-- against what the provider's rules predict from the account's own repetition. The replay
-- follows the documented rules: exact prefix match (system_hash and model), entries live
-- $ttl_seconds and every use refreshes them, a prefix shorter than $min_cacheable_tokens
-- is never cached, and a request within $concurrency_ms of the previous one misses (the
-- first response has not started). A predicted hit that wrote the prefix again instead of
-- reading it is a busted cache (a nonce in the prefix); a predicted hit that neither read
-- nor wrote asked for no caching (caching is the client's choice, and a prefix shorter than
-- the minimum at its breakpoint is never cached) and is not busted. A read with no creation
-- anywhere in the account is a cache someone else warmed. Input: requests (one day).
-- Parameters: $ttl_seconds, $min_cacheable_tokens, $concurrency_ms.
WITH cacheable AS (
    SELECT
        account_id, model, system_hash, ts,
        cache_read_input_tokens > 0 AS was_read,
        cache_creation_input_tokens > 0 AS was_written,
        epoch_us(ts) - lag(epoch_us(ts)) OVER (
            PARTITION BY account_id, model, system_hash ORDER BY ts, request_id
        ) AS gap_us
    FROM requests
    WHERE system_hash IS NOT NULL AND status BETWEEN 200 AND 299
        AND input_tokens + cache_creation_input_tokens + cache_read_input_tokens
            >= $min_cacheable_tokens
),

final AS (
    SELECT
        account_id,
        model,
        system_hash,
        count(*)::BIGINT AS cacheable_count,
        count(*) FILTER (WHERE gap_us BETWEEN $concurrency_ms * 1000 AND $ttl_seconds * 1000000
            )::BIGINT AS predicted_hit_count,
        count(*) FILTER (WHERE was_read)::BIGINT AS observed_read_count,
        count(*) FILTER (WHERE was_written)::BIGINT AS observed_write_count,
        count(*) FILTER (WHERE gap_us BETWEEN $concurrency_ms * 1000 AND $ttl_seconds * 1000000
            AND was_written AND NOT was_read)::BIGINT AS busted_count
    FROM cacheable
    GROUP BY account_id, model, system_hash
)

SELECT * FROM final ORDER BY account_id, model, system_hash
