-- account_hour: one row per account and UTC hour of the day $day with at least one request:
-- requests, 429s and token sums, for hour-of-day profiles (24/7 flat activity against the
-- account's country) and synchronized start and stop across accounts. The hourly sums add
-- up to account_day's. Inputs: requests (the day's partition). Parameters: $day.
WITH

requests_of_day AS (
    SELECT
        account_id,
        ts,
        status,
        input_tokens,
        output_tokens,
        cache_creation_input_tokens,
        cache_read_input_tokens
    FROM requests
    WHERE ts >= $day::DATE::TIMESTAMPTZ AND ts < ($day::DATE + 1)::TIMESTAMPTZ
),

final AS (
    SELECT
        account_id,
        date_trunc('hour', ts) AS hour_at,
        count(*) AS request_count,
        count(*) FILTER (WHERE status = 429) AS rate_limited_count,
        sum(input_tokens)::BIGINT AS input_tokens_sum,
        sum(output_tokens)::BIGINT AS output_tokens_sum,
        sum(cache_creation_input_tokens)::BIGINT AS cache_creation_input_tokens_sum,
        sum(cache_read_input_tokens)::BIGINT AS cache_read_input_tokens_sum
    FROM requests_of_day
    GROUP BY account_id, hour_at
)

SELECT * FROM final
ORDER BY account_id, hour_at
