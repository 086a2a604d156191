-- account_day: one row per account with at least one request on the UTC day $day: status
-- mix, token sums and quantiles, long-output and caching shares, activity and pacing
-- against the account's limits, distinct linking keys, sampling settings.
-- Inputs: requests (the day's partition), accounts (optional rows; an account missing
-- from it keeps its row, with NULL limits). Parameters: $day.
-- Token quantiles and max_tokens saturation are over 2xx requests (a 429 carries no
-- answer); shares are NULL when their denominator is zero. The temperature mean is summed
-- as DECIMAL so that it does not depend on the order threads add it up: a re-run writes
-- the same bytes.
WITH

requests_of_day AS (
    SELECT
        account_id,
        ts,
        status,
        status BETWEEN 200 AND 299 AS is_ok,
        input_tokens,
        output_tokens,
        cache_creation_input_tokens,
        cache_read_input_tokens,
        input_tokens + cache_creation_input_tokens + cache_read_input_tokens
            AS total_input_tokens,
        max_tokens,
        stop_reason,
        temperature,
        source_ip,
        ip_prefix,
        user_agent,
        api_key_id,
        system_hash,
        prompt_hash,
        model
    FROM requests
    WHERE ts >= $day::DATE::TIMESTAMPTZ AND ts < ($day::DATE + 1)::TIMESTAMPTZ
),

account_limits AS (
    -- An account listed twice takes its higher limits: the reading least likely to make
    -- its pacing look close to the limit.
    SELECT account_id, max(rpm_limit) AS rpm_limit, max(itpm_limit) AS itpm_limit
    FROM accounts
    GROUP BY account_id
),

minutes AS (
    SELECT
        account_id,
        date_trunc('minute', ts) AS minute_at,
        count(*) AS request_count,
        sum(input_tokens + cache_creation_input_tokens) AS itpm_tokens
    FROM requests_of_day
    GROUP BY account_id, minute_at
),

pacing AS (
    SELECT
        account_id,
        count(DISTINCT date_trunc('hour', minute_at)) AS active_hour_count,
        count(*) AS active_minute_count,
        max(request_count) AS peak_rpm,
        max(itpm_tokens)::BIGINT AS peak_itpm
    FROM minutes
    GROUP BY account_id
),

traffic AS (
    SELECT
        account_id,
        count(*) AS request_count,
        count(*) FILTER (WHERE is_ok) AS ok_count,
        count(*) FILTER (WHERE status = 429) AS rate_limited_count,
        count(*) FILTER (WHERE status BETWEEN 400 AND 499 AND status <> 429)
            AS client_error_count,
        count(*) FILTER (WHERE status BETWEEN 500 AND 599) AS error_count,
        sum(input_tokens)::BIGINT AS input_tokens_sum,
        sum(output_tokens)::BIGINT AS output_tokens_sum,
        sum(cache_creation_input_tokens)::BIGINT AS cache_creation_input_tokens_sum,
        sum(cache_read_input_tokens)::BIGINT AS cache_read_input_tokens_sum,
        sum(total_input_tokens)::BIGINT AS total_input_tokens_sum,
        quantile_cont(output_tokens, 0.5) FILTER (WHERE is_ok) AS output_tokens_p50,
        quantile_cont(output_tokens, 0.9) FILTER (WHERE is_ok) AS output_tokens_p90,
        quantile_cont(total_input_tokens, 0.5) FILTER (WHERE is_ok) AS total_input_tokens_p50,
        count(*) FILTER (
            WHERE is_ok AND (stop_reason = 'max_tokens' OR output_tokens >= max_tokens)
        ) AS saturated_count,
        count(DISTINCT source_ip) AS distinct_source_ip_count,
        count(DISTINCT ip_prefix) AS distinct_ip_prefix_count,
        count(DISTINCT user_agent) AS distinct_user_agent_count,
        count(DISTINCT api_key_id) AS distinct_api_key_count,
        count(DISTINCT system_hash) AS distinct_system_hash_count,
        count(DISTINCT prompt_hash) AS distinct_prompt_hash_count,
        count(DISTINCT model) AS distinct_model_count,
        avg(temperature::DECIMAL(18, 6))::DOUBLE AS temperature_mean,
        count(temperature) AS temperature_set_count,
        count(*) FILTER (WHERE temperature > 0) AS temperature_positive_count,
        min(ts) AS first_request_at,
        max(ts) AS last_request_at
    FROM requests_of_day
    GROUP BY account_id
),

final AS (
    SELECT
        t.account_id,
        t.request_count,
        t.ok_count,
        t.rate_limited_count,
        t.client_error_count,
        t.error_count,
        t.rate_limited_count / t.request_count AS rate_limited_share,
        t.input_tokens_sum,
        t.output_tokens_sum,
        t.cache_creation_input_tokens_sum,
        t.cache_read_input_tokens_sum,
        t.total_input_tokens_sum,
        t.output_tokens_p50::DOUBLE AS output_tokens_p50,
        t.output_tokens_p90::DOUBLE AS output_tokens_p90,
        t.total_input_tokens_p50::DOUBLE AS total_input_tokens_p50,
        t.output_tokens_sum / nullif(t.total_input_tokens_sum, 0) AS output_input_ratio,
        t.saturated_count / nullif(t.ok_count, 0) AS max_tokens_saturated_share,
        t.cache_read_input_tokens_sum / nullif(t.total_input_tokens_sum, 0)
            AS cache_read_share,
        t.cache_creation_input_tokens_sum / nullif(t.total_input_tokens_sum, 0)
            AS cache_creation_share,
        p.active_hour_count,
        p.active_minute_count,
        p.peak_rpm,
        l.rpm_limit,
        p.peak_rpm / nullif(l.rpm_limit, 0) AS peak_rpm_limit_ratio,
        p.peak_itpm,
        l.itpm_limit,
        p.peak_itpm / nullif(l.itpm_limit, 0) AS peak_itpm_limit_ratio,
        t.distinct_source_ip_count,
        t.distinct_ip_prefix_count,
        t.distinct_user_agent_count,
        t.distinct_api_key_count,
        t.distinct_system_hash_count,
        t.distinct_prompt_hash_count,
        t.distinct_model_count,
        t.temperature_mean,
        t.temperature_positive_count / nullif(t.temperature_set_count, 0)
            AS temperature_positive_share,
        t.first_request_at,
        t.last_request_at
    FROM traffic AS t
    INNER JOIN pacing AS p USING (account_id)
    LEFT JOIN account_limits AS l USING (account_id)
)

SELECT * FROM final
ORDER BY account_id
