-- account_key_day: one row per account, key type and key value seen in its requests on the
-- UTC day $day: the linking keys (ip_prefix, source_ip, user_agent, system_hash,
-- api_key_id, model) with how often and when. Absent values are left out. Window stages
-- weight each key by how many accounts share it. Inputs: requests (the day's partition).
-- Parameters: $day.
WITH

requests_of_day AS (
    SELECT account_id, ts, ip_prefix, source_ip, user_agent, system_hash, api_key_id, model
    FROM requests
    WHERE ts >= $day::DATE::TIMESTAMPTZ AND ts < ($day::DATE + 1)::TIMESTAMPTZ
),

keys AS (
    SELECT account_id, ts, key_type, key_value
    FROM requests_of_day
    UNPIVOT (
        key_value FOR key_type IN (ip_prefix, source_ip, user_agent, system_hash, api_key_id,
                                   model)
    )
),

final AS (
    SELECT
        account_id,
        key_type,
        key_value,
        count(*) AS request_count,
        min(ts) AS first_request_at,
        max(ts) AS last_request_at
    FROM keys
    GROUP BY account_id, key_type, key_value
)

SELECT * FROM final
ORDER BY account_id, key_type, key_value
