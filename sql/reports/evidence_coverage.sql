-- reports/evidence_coverage: one row per input that some evidence needs, with how many of
-- the window's accounts carry it. An input no account carries turns its evidence off for
-- the whole window: a log format that has no such field (LiteLLM and OpenTelemetry have no
-- payment data; an OpenAI-style usage object reports no cache writes), or logs that leave
-- it out (prompts not stored). The summary says so instead of showing the evidence weak.
-- Input: account_day and account_capability_day (views), accounts. Parameters: $start,
-- $end.
WITH per_account AS (
    SELECT
        account_id,
        max(distinct_user_agent_count) > 0 AS has_user_agent,
        max(distinct_source_ip_count) > 0 AS has_source_ip,
        max(distinct_api_key_count) > 0 AS has_api_key,
        max(distinct_system_hash_count) > 0 AS has_system_hash,
        sum(cache_creation_input_tokens_sum) > 0 AS has_cache_creation,
        sum(cache_read_input_tokens_sum) > 0 AS has_cache_read
    FROM account_day
    WHERE date BETWEEN $start AND $end
    GROUP BY account_id
),

registered AS (
    SELECT
        count(*) FILTER (WHERE a.payment_fingerprint IS NOT NULL OR a.email_domain IS NOT NULL
            OR a.created_at IS NOT NULL) AS with_registration
    FROM per_account AS p JOIN accounts AS a USING (account_id)
),

texts AS (
    SELECT count(DISTINCT account_id) AS with_text
    FROM account_capability_day
    WHERE date BETWEEN $start AND $end AND capability <> 'unknown'
),

final AS (
    SELECT 1 AS ord, 'account registration (payment, e-mail domain, creation time)' AS input,
        'account linkage: payment, e-mail domain, creation bursts' AS evidence,
        (SELECT with_registration FROM registered) AS accounts_with
    UNION ALL SELECT 2, 'prompt text', 'query distribution on text; near-duplicate prompts',
        (SELECT with_text FROM texts)
    UNION ALL SELECT 3, 'user agent', 'linkage by user agent',
        count(*) FILTER (WHERE has_user_agent) FROM per_account
    UNION ALL SELECT 4, 'source IP', 'linkage by IP prefix; infrastructure',
        count(*) FILTER (WHERE has_source_ip) FROM per_account
    UNION ALL SELECT 5, 'API key', 'key rotation across a pool',
        count(*) FILTER (WHERE has_api_key) FROM per_account
    UNION ALL SELECT 6, 'system prompt hash', 'linkage by system prompt',
        count(*) FILTER (WHERE has_system_hash) FROM per_account
    UNION ALL SELECT 7, 'cache writes', 'caching mismatch: excess writes, reads without writes',
        count(*) FILTER (WHERE has_cache_creation) FROM per_account
    UNION ALL SELECT 8, 'cache reads', 'caching mismatch: cache busting',
        count(*) FILTER (WHERE has_cache_read) FROM per_account
)

SELECT
    input,
    evidence,
    coalesce(accounts_with, 0)::BIGINT AS accounts_with,
    (SELECT count(*) FROM per_account)::BIGINT AS accounts,
    coalesce(accounts_with, 0) > 0 AS is_on
FROM final
ORDER BY ord
