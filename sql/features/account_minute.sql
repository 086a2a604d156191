-- account_minute: one row per account and UTC minute of the day $day with at least one
-- request (sparse: silent minutes have no row). For pacing against rpm_limit and for
-- synchronized activity across accounts. Inputs: requests (the day's partition).
-- Parameters: $day.
WITH

requests_of_day AS (
    SELECT account_id, ts, status
    FROM requests
    WHERE ts >= $day::DATE::TIMESTAMPTZ AND ts < ($day::DATE + 1)::TIMESTAMPTZ
),

final AS (
    SELECT
        account_id,
        date_trunc('minute', ts) AS minute_at,
        count(*) AS request_count,
        count(*) FILTER (WHERE status = 429) AS rate_limited_count
    FROM requests_of_day
    GROUP BY account_id, minute_at
)

SELECT * FROM final
ORDER BY account_id, minute_at
