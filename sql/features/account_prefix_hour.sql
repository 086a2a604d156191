-- account_prefix_hour: one row per account, IP prefix (/24 or /48) and UTC hour of the day
-- $day with at least one request: the evidence "same IP prefix in the same hour" without
-- the requests. Requests without a prefix are left out. Inputs: requests (the day's
-- partition). Parameters: $day.
WITH

requests_of_day AS (
    SELECT account_id, ip_prefix, ts
    FROM requests
    WHERE ts >= $day::DATE::TIMESTAMPTZ AND ts < ($day::DATE + 1)::TIMESTAMPTZ
        AND ip_prefix IS NOT NULL
),

final AS (
    SELECT
        account_id,
        ip_prefix,
        date_trunc('hour', ts) AS hour_at,
        count(*) AS request_count
    FROM requests_of_day
    GROUP BY account_id, ip_prefix, hour_at
)

SELECT * FROM final
ORDER BY account_id, ip_prefix, hour_at
