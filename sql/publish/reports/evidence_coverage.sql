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

with_text AS (
    SELECT DISTINCT account_id
    FROM account_capability_day
    WHERE date BETWEEN $start AND $end AND capability <> 'unknown'
),

counts AS (
    SELECT
        count(*) AS accounts,
        count(*) FILTER (WHERE a.payment_fingerprint IS NOT NULL
            OR a.email_domain IS NOT NULL OR a.created_at IS NOT NULL) AS registration,
        count(t.account_id) AS prompt_text,
        count(*) FILTER (WHERE has_user_agent) AS user_agent,
        count(*) FILTER (WHERE has_source_ip) AS source_ip,
        count(*) FILTER (WHERE has_api_key) AS api_key,
        count(*) FILTER (WHERE has_system_hash) AS system_hash,
        count(*) FILTER (WHERE has_cache_creation) AS cache_creation,
        count(*) FILTER (WHERE has_cache_read) AS cache_read
    FROM per_account AS p
    LEFT JOIN accounts AS a USING (account_id)
    LEFT JOIN with_text AS t USING (account_id)
),

carried AS (
    UNPIVOT counts ON COLUMNS(* EXCLUDE (accounts)) INTO NAME measure VALUE accounts_with
),

labels AS (
    SELECT * FROM (VALUES
        (1, 'registration', 'account registration (payment, e-mail domain, creation time)',
         'account linkage: payment, e-mail domain, creation bursts'),
        (2, 'prompt_text', 'prompt text', 'query distribution on text; near-duplicate prompts'),
        (3, 'user_agent', 'user agent', 'linkage by user agent'),
        (4, 'source_ip', 'source IP', 'linkage by IP prefix; infrastructure'),
        (5, 'api_key', 'API key', 'key rotation across a pool'),
        (6, 'system_hash', 'system prompt hash', 'linkage by system prompt'),
        (7, 'cache_creation', 'cache writes',
         'caching mismatch: excess writes, reads without writes'),
        (8, 'cache_read', 'cache reads', 'caching mismatch: cache busting')
    ) AS l(ord, measure, input, evidence)
)

SELECT
    l.input,
    l.evidence,
    c.accounts_with::BIGINT AS accounts_with,
    c.accounts::BIGINT AS accounts,
    c.accounts_with > 0 AS is_on
FROM labels AS l
JOIN carried AS c USING (measure)
ORDER BY l.ord
