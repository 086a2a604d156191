-- account_prompt_day: one row per account and prompt_hash sent on the UTC day $day (the
-- per-prompt-fingerprint table): how often, when, with which sampling and system prompt.
-- For identical rare prompts across accounts, repeated sampling of one prompt and cache
-- replays. Requests without a prompt_hash are left out. Inputs: requests (the day's
-- partition). Parameters: $day.
WITH

requests_of_day AS (
    SELECT account_id, prompt_hash, system_hash, ts, status, temperature, output_tokens
    FROM requests
    WHERE ts >= $day::DATE::TIMESTAMPTZ AND ts < ($day::DATE + 1)::TIMESTAMPTZ
        AND prompt_hash IS NOT NULL
),

by_system_prompt AS (
    SELECT
        account_id,
        prompt_hash,
        system_hash,
        count(*) AS request_count,
        count(*) FILTER (WHERE status = 429) AS rate_limited_count,
        count(*) FILTER (WHERE temperature > 0) AS temperature_positive_count,
        max(output_tokens) AS output_tokens_max,
        min(ts) AS first_request_at,
        max(ts) AS last_request_at
    FROM requests_of_day
    GROUP BY account_id, prompt_hash, system_hash
),

final AS (
    SELECT
        account_id,
        prompt_hash,
        sum(request_count)::BIGINT AS request_count,
        sum(rate_limited_count)::BIGINT AS rate_limited_count,
        sum(temperature_positive_count)::BIGINT AS temperature_positive_count,
        max(output_tokens_max) AS output_tokens_max,
        first(system_hash ORDER BY request_count DESC, system_hash NULLS LAST) AS system_hash,
        min(first_request_at) AS first_request_at,
        max(last_request_at) AS last_request_at
    FROM by_system_prompt
    GROUP BY account_id, prompt_hash
)

SELECT * FROM final
ORDER BY account_id, prompt_hash
